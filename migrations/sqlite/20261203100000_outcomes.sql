-- Direct labels (issue 12): ground truth observed later in production, joined to items by
-- external id. What a direct label does is a task setting in its own row (absent: compare).
CREATE TABLE task_direct_labels (
    task_id       BIGINT PRIMARY KEY REFERENCES tasks(id) ON DELETE CASCADE,
    direct_labels TEXT NOT NULL DEFAULT 'compare'
        CHECK (direct_labels IN ('standalone', 'gold', 'compare')),
    updated_at    BIGINT NOT NULL
);

-- One row per (item, source); sending it again with another value replaces it (audited).
CREATE TABLE outcomes (
    id          INTEGER PRIMARY KEY,
    task_id     BIGINT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    item_id     BIGINT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    source      TEXT NOT NULL,
    value_json  TEXT NOT NULL,
    observed_at BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (item_id, source)
);
CREATE INDEX outcomes_task ON outcomes(task_id, item_id);

-- The item's direct label: the value of its latest observed outcome (NULL: none), kept in step
-- with `outcomes` so that the gold check and the figures read it without a join.
ALTER TABLE items ADD COLUMN direct_json TEXT;
