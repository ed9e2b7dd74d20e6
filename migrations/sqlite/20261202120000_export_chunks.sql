-- Snapshot files in the database, for several instances without a shared file system: each file
-- (`<sha256>.<ext>` and its row index `<sha256>.idx`) as 1 MiB chunks in order. Written and read
-- only on PostgreSQL; on SQLite (one process, one data directory) the files suffice and this
-- table stays empty, so both dialects keep the same tables.
CREATE TABLE export_chunks (
    name  TEXT NOT NULL,
    seq   INTEGER NOT NULL,
    bytes BLOB NOT NULL,
    PRIMARY KEY (name, seq)
);
