-- PostgreSQL twin of migrations/sqlite/0003_quality.sql: INTEGER -> BIGINT (identity for keys), REAL -> DOUBLE PRECISION,
-- TEXT compared byte-wise (COLLATE "C") as SQLite does.
-- Conflict resolution and quality control: resolution method, gold and qualification settings,
-- per-rater status in a task, flags, and the optimistic version of an item's resolution.

ALTER TABLE tasks ADD COLUMN resolution_method TEXT COLLATE "C" NOT NULL DEFAULT 'majority';
-- A new rater's first N items are gold; below the pass mark they cannot lease real work.
ALTER TABLE tasks ADD COLUMN qualification_items BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN qualification_pass DOUBLE PRECISION NOT NULL DEFAULT 0.8;
-- Continuous check: gold accuracy over the last `gold_window` gold answers below `gold_min_accuracy` pauses the rater.
ALTER TABLE tasks ADD COLUMN gold_window BIGINT NOT NULL DEFAULT 10;
ALTER TABLE tasks ADD COLUMN gold_min_accuracy DOUBLE PRECISION NOT NULL DEFAULT 0.0;

ALTER TABLE items ADD COLUMN flagged BIGINT NOT NULL DEFAULT 0;
-- Bumped at every change of the item's resolution, so two reviewers cannot overwrite each other.
ALTER TABLE items ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
CREATE INDEX items_review ON items(task_id, state, flagged);

CREATE TABLE rater_status (
    task_id    BIGINT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    paused     BIGINT NOT NULL DEFAULT 0,
    reason     TEXT COLLATE "C" NOT NULL DEFAULT '',
    changed_at BIGINT NOT NULL,
    changed_by BIGINT REFERENCES users(id),
    -- An admin let this rater work although they did not pass the qualification.
    qualification_waived BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (task_id, user_id)
);

ALTER TABLE skips ADD COLUMN flagged BIGINT NOT NULL DEFAULT 0;
