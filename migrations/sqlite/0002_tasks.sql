-- Tasks, items, imports, shard leases, labels, submissions and provisional resolutions.

CREATE TABLE tasks (
    id                   INTEGER PRIMARY KEY,
    name                 TEXT NOT NULL,
    schema_json          TEXT NOT NULL,
    overlap              INTEGER NOT NULL,
    max_overlap          INTEGER NOT NULL,
    agreement            REAL NOT NULL,
    shard_size           INTEGER NOT NULL,
    lease_minutes        INTEGER NOT NULL,
    state                TEXT NOT NULL CHECK (state IN ('draft', 'active', 'paused', 'archived')),
    instructions_version INTEGER NOT NULL,
    gold_ratio           REAL NOT NULL DEFAULT 0,
    created_by           BIGINT NOT NULL REFERENCES users(id),
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);

CREATE TABLE instruction_versions (
    task_id    BIGINT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    markdown   TEXT NOT NULL,
    html       TEXT NOT NULL,
    created_by BIGINT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (task_id, version)
);

CREATE TABLE instruction_acks (
    task_id  BIGINT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    user_id  BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    version  INTEGER NOT NULL,
    acked_at BIGINT NOT NULL,
    PRIMARY KEY (task_id, user_id)
);

CREATE TABLE task_members (
    task_id  BIGINT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    user_id  BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (task_id, user_id)
);
CREATE INDEX task_members_user ON task_members(user_id);

CREATE TABLE imports (
    id          INTEGER PRIMARY KEY,
    task_id     BIGINT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    user_id     BIGINT REFERENCES users(id),
    format      TEXT NOT NULL,
    filename    TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    rows_read   BIGINT NOT NULL DEFAULT 0,
    imported    BIGINT NOT NULL DEFAULT 0,
    skipped     BIGINT NOT NULL DEFAULT 0,
    error_line  BIGINT,
    error       TEXT,
    created_at  BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX imports_task ON imports(task_id, id);

-- state: open -> complete -> resolved, or open -> adjudication -> resolved.
-- label_count and active_leases are kept in step with labels and live shard_items in the same
-- transactions, so "labels + live leases <= target" is one indexed comparison.
CREATE TABLE items (
    id            INTEGER PRIMARY KEY,
    task_id       BIGINT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    external_id   TEXT NOT NULL,
    data_json     TEXT NOT NULL,
    gold_json     TEXT,
    state         TEXT NOT NULL DEFAULT 'open',
    target        INTEGER NOT NULL,
    label_count   INTEGER NOT NULL DEFAULT 0,
    active_leases INTEGER NOT NULL DEFAULT 0,
    import_id     BIGINT,
    created_at    BIGINT NOT NULL,
    UNIQUE (task_id, external_id)
);
CREATE INDEX items_pool ON items(task_id, state, label_count DESC, id);
CREATE INDEX items_import ON items(import_id);

CREATE TABLE shards (
    id         INTEGER PRIMARY KEY,
    task_id    BIGINT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    user_id    BIGINT NOT NULL REFERENCES users(id),
    assigned_by BIGINT REFERENCES users(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    -- 1 once an expired shard's leased items were given back to the pool.
    swept      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX shards_sweep ON shards(swept, expires_at);
CREATE INDEX shards_user ON shards(user_id, task_id, swept);

-- state: leased (counts in items.active_leases), labeled, skipped, expired.
CREATE TABLE shard_items (
    shard_id BIGINT NOT NULL REFERENCES shards(id) ON DELETE CASCADE,
    item_id  BIGINT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    state    TEXT NOT NULL DEFAULT 'leased',
    PRIMARY KEY (shard_id, item_id)
);
CREATE INDEX shard_items_item ON shard_items(item_id, state);

CREATE TABLE labels (
    id                  INTEGER PRIMARY KEY,
    task_id             BIGINT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    item_id             BIGINT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    user_id             BIGINT NOT NULL REFERENCES users(id),
    shard_id            BIGINT REFERENCES shards(id),
    value_json          TEXT NOT NULL,
    duration_ms         BIGINT NOT NULL DEFAULT 0,
    instruction_version INTEGER NOT NULL,
    revision            INTEGER NOT NULL DEFAULT 1,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    UNIQUE (item_id, user_id)
);
CREATE INDEX labels_user ON labels(user_id, task_id);
CREATE INDEX labels_task ON labels(task_id, item_id);

-- Idempotency: the first answer to each (user, submission_key) is kept and replayed.
CREATE TABLE submissions (
    user_id        BIGINT NOT NULL REFERENCES users(id),
    submission_key TEXT NOT NULL,
    request_hash   TEXT NOT NULL,
    status         INTEGER NOT NULL,
    response_json  TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (user_id, submission_key)
);

CREATE TABLE skips (
    item_id    BIGINT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    user_id    BIGINT NOT NULL REFERENCES users(id),
    shard_id   BIGINT REFERENCES shards(id),
    reason     TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    PRIMARY KEY (item_id, user_id)
);

CREATE TABLE resolutions (
    item_id     BIGINT PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
    task_id     BIGINT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    value_json  TEXT NOT NULL,
    method      TEXT NOT NULL,
    confidence  REAL NOT NULL,
    votes_json  TEXT NOT NULL,
    resolved_by BIGINT REFERENCES users(id),
    resolved_at BIGINT NOT NULL
);
CREATE INDEX resolutions_task ON resolutions(task_id);
