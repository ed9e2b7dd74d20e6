-- PostgreSQL twin of migrations/sqlite/0005_item_exclusion.sql: INTEGER -> BIGINT (identity for keys), REAL -> DOUBLE PRECISION,
-- TEXT compared byte-wise (COLLATE "C") as SQLite does.
-- An item a reviewer or admin left out of exports (and of quality figures and re-resolution):
-- when and by whom; both NULL while the item is included.
ALTER TABLE items ADD COLUMN excluded_at BIGINT;
ALTER TABLE items ADD COLUMN excluded_by BIGINT REFERENCES users(id);
