-- Exports: immutable, content-addressed training-set snapshots, and each task's export settings.

-- One row per task, made at the first export or the first change of these settings.
CREATE TABLE task_export_settings (
    task_id              BIGINT PRIMARY KEY REFERENCES tasks(id) ON DELETE CASCADE,
    -- Admins may always list, make and download a task's exports; reviewers only when this is 1.
    reviewers_can_export INTEGER NOT NULL DEFAULT 0,
    -- A snapshot whose label distribution moved further than this (L-infinity) is flagged.
    drift_threshold      REAL NOT NULL DEFAULT 0.1,
    -- Secret key of the task's pseudonymous rater ids (HMAC-SHA256), so exports never name people
    -- and ids cannot be matched across tasks.
    rater_salt           TEXT NOT NULL,
    updated_at           BIGINT NOT NULL
);

CREATE TABLE exports (
    id            INTEGER PRIMARY KEY,
    task_id       BIGINT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    format        TEXT NOT NULL CHECK (format IN ('jsonl', 'csv', 'parquet', 'tfrecord')),
    -- The settings the snapshot was made with (filters, splits), as JSON.
    settings_json TEXT NOT NULL,
    rows          BIGINT NOT NULL,
    bytes         BIGINT NOT NULL,
    sha256        TEXT NOT NULL,
    -- `<sha256>.<ext>` in `<data-dir>/exports/`: the same content is one file.
    file_name     TEXT NOT NULL,
    -- NULL when made with the command line.
    created_by    BIGINT REFERENCES users(id),
    created_at    BIGINT NOT NULL,
    -- The snapshot this one is compared with (the task's previous one), and the comparison.
    previous_id   BIGINT REFERENCES exports(id),
    diff_json     TEXT NOT NULL,
    card_json     TEXT NOT NULL,
    schema_json   TEXT NOT NULL
);
CREATE INDEX exports_task ON exports(task_id, id);
