-- Scoped API tokens: a token may be narrowed to reading, metrics, exports or labeling.
ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'full'
    CHECK (scope IN ('full', 'read', 'metrics', 'exports', 'label'));
