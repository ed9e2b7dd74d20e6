-- A snapshot's `format` column names its exact format (the label kinds' formats were stored as
-- the container they resemble, with the exact one only in the settings).
ALTER TABLE exports DROP CONSTRAINT exports_format_check;
UPDATE exports SET format = settings_json::jsonb ->> 'format'
WHERE settings_json::jsonb ->> 'format' IN ('jsonl', 'csv', 'parquet', 'tfrecord', 'preference', 'conll', 'spacy', 'coco', 'yolo', 'label_studio') AND settings_json::jsonb ->> 'format' <> format;
ALTER TABLE exports ADD CONSTRAINT exports_format_check CHECK (format IN ('jsonl', 'csv', 'parquet', 'tfrecord', 'preference', 'conll', 'spacy', 'coco', 'yolo', 'label_studio'));
