-- A snapshot's `format` column names its exact format (the label kinds' formats were stored as
-- the container they resemble, with the exact one only in the settings). SQLite cannot change a
-- CHECK in place: the table is rebuilt, keeping every row and id. The old one is renamed first
-- (its self-reference follows it), so the new table's `previous_id` refers to the new table.
ALTER TABLE exports RENAME TO exports_old;
DROP INDEX exports_task;
CREATE TABLE exports (
    id            INTEGER PRIMARY KEY,
    task_id       BIGINT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    format        TEXT NOT NULL CHECK (format IN ('jsonl', 'csv', 'parquet', 'tfrecord', 'preference', 'conll', 'spacy', 'coco', 'yolo', 'label_studio')),
    settings_json TEXT NOT NULL,
    rows          BIGINT NOT NULL,
    bytes         BIGINT NOT NULL,
    sha256        TEXT NOT NULL,
    file_name     TEXT NOT NULL,
    created_by    BIGINT REFERENCES users(id),
    created_at    BIGINT NOT NULL,
    previous_id   BIGINT REFERENCES exports(id),
    diff_json     TEXT NOT NULL,
    card_json     TEXT NOT NULL,
    schema_json   TEXT NOT NULL
);
INSERT INTO exports (id, task_id, format, settings_json, rows, bytes, sha256, file_name,
                         created_by, created_at, previous_id, diff_json, card_json, schema_json)
SELECT id, task_id,
       CASE WHEN json_valid(settings_json) AND json_extract(settings_json, '$.format') IN ('jsonl', 'csv', 'parquet', 'tfrecord', 'preference', 'conll', 'spacy', 'coco', 'yolo', 'label_studio')
            THEN json_extract(settings_json, '$.format') ELSE format END,
       settings_json, rows, bytes, sha256, file_name,
       created_by, created_at, previous_id, diff_json, card_json, schema_json
FROM exports_old ORDER BY id;
DROP TABLE exports_old;
CREATE INDEX exports_task ON exports(task_id, id);
