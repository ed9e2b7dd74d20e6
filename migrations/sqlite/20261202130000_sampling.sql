-- Model predictions on items and the order a task hands its items out in (issue 12).
-- A task's sampling settings live in their own row (absent: fullest first, predictions hidden).
CREATE TABLE task_sampling (
    task_id          BIGINT PRIMARY KEY REFERENCES tasks(id) ON DELETE CASCADE,
    sampling         TEXT NOT NULL DEFAULT 'fullest_first'
        CHECK (sampling IN ('fullest_first', 'fifo', 'random', 'priority', 'uncertainty')),
    measure          TEXT NOT NULL DEFAULT 'least_confidence'
        CHECK (measure IN ('least_confidence', 'margin', 'entropy')),
    seed             BIGINT NOT NULL DEFAULT 0,
    show_predictions INTEGER NOT NULL DEFAULT 0,
    updated_at       BIGINT NOT NULL
);

-- What each ordering reads, kept on the item so that a lease walks an index: the priority given
-- at import, the uncertainty of the latest prediction by each measure (-1: none, so it sorts last), and the
-- item's place in the task's seeded shuffle.
ALTER TABLE items ADD COLUMN priority REAL NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN unc_least_confidence REAL NOT NULL DEFAULT -1;
ALTER TABLE items ADD COLUMN unc_margin REAL NOT NULL DEFAULT -1;
ALTER TABLE items ADD COLUMN unc_entropy REAL NOT NULL DEFAULT -1;
ALTER TABLE items ADD COLUMN random_key BIGINT NOT NULL DEFAULT 0;
CREATE INDEX items_fifo ON items(task_id, state, id);
CREATE INDEX items_priority ON items(task_id, state, priority DESC, id);
CREATE INDEX items_random ON items(task_id, state, random_key, id);
CREATE INDEX items_unc_lc ON items(task_id, state, unc_least_confidence DESC, id);
CREATE INDEX items_unc_margin ON items(task_id, state, unc_margin DESC, id);
CREATE INDEX items_unc_entropy ON items(task_id, state, unc_entropy DESC, id);

-- One row per (item, model, version); adding it again replaces it.
CREATE TABLE predictions (
    id                 INTEGER PRIMARY KEY,
    item_id            BIGINT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    model              TEXT NOT NULL,
    version            TEXT NOT NULL,
    value_json         TEXT NOT NULL,
    score              REAL,
    probabilities_json TEXT,
    created_at         BIGINT NOT NULL,
    UNIQUE (item_id, model, version)
);
CREATE INDEX predictions_item ON predictions(item_id, id);

-- Whether the rater's answer kept the prediction they were shown (NULL: none was shown).
ALTER TABLE labels ADD COLUMN prediction_kept INTEGER;
