-- PostgreSQL twin of migrations/sqlite/20261202004000_token_scope.sql: INTEGER -> BIGINT (identity for keys), REAL -> DOUBLE PRECISION,
-- TEXT compared byte-wise (COLLATE "C") as SQLite does.
-- Scoped API tokens: a token may be narrowed to reading, metrics, exports or labeling.
ALTER TABLE api_tokens ADD COLUMN scope TEXT COLLATE "C" NOT NULL DEFAULT 'full'
    CHECK (scope IN ('full', 'read', 'metrics', 'exports', 'label'));
