-- Data validation of item imports (issue 12): a task's item schema and anomaly policy, the
-- statistics, anomalies and drift of each stored import, and items held aside in quarantine.
-- A task's validation settings live in their own row (absent: no schema yet, policy `warn`).
CREATE TABLE task_validation (
    task_id               BIGINT PRIMARY KEY REFERENCES tasks(id) ON DELETE CASCADE,
    -- The item schema (NULL until the first import infers it).
    schema_json           TEXT,
    -- The import it was inferred from (NULL once an admin edits it).
    schema_import_id      BIGINT,
    anomaly_policy        TEXT NOT NULL DEFAULT 'warn'
        CHECK (anomaly_policy IN ('reject', 'warn', 'quarantine')),
    categorical_threshold REAL NOT NULL DEFAULT 0.1,
    numeric_threshold     REAL NOT NULL DEFAULT 0.1,
    updated_at            BIGINT NOT NULL
);

-- One row per stored import: what it held, what was wrong, how far it moved from the one before.
CREATE TABLE import_stats (
    import_id      BIGINT PRIMARY KEY REFERENCES imports(id) ON DELETE CASCADE,
    task_id        BIGINT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    items          BIGINT NOT NULL,
    stats_json     TEXT NOT NULL,
    anomalies_json TEXT NOT NULL,
    -- Items with at least one anomaly, and those of them held in quarantine.
    anomalous      BIGINT NOT NULL,
    quarantined    BIGINT NOT NULL,
    drift_json     TEXT,
    drift_score    REAL,
    drifting       INTEGER NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL
);
CREATE INDEX import_stats_task ON import_stats(task_id, import_id);

-- Anomalous items of a `quarantine` import: never leased; an admin releases them into the task
-- (then they are items of their import) or discards them.
CREATE TABLE quarantine (
    id               INTEGER PRIMARY KEY,
    task_id          BIGINT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    import_id        BIGINT NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
    line             BIGINT NOT NULL,
    external_id      TEXT NOT NULL,
    data_json        TEXT NOT NULL,
    gold_json        TEXT,
    predictions_json TEXT,
    priority         REAL NOT NULL DEFAULT 0,
    reasons_json     TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    UNIQUE (task_id, external_id)
);
