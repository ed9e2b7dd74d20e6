-- Webhooks (issue 12): a task's registered receivers, and the outbox of their deliveries.
-- A delivery row is written in the same transaction as the change it reports (the outbox
-- pattern), so an event exists if and only if its cause committed; the delivery worker sends it.
CREATE TABLE webhooks (
    id          INTEGER PRIMARY KEY,
    task_id     BIGINT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    url         TEXT NOT NULL,
    -- The events it wants, comma-separated (e.g. 'snapshot.ready,task.completed').
    events      TEXT NOT NULL,
    -- The signing secret; the server needs it in clear to sign, so it is stored as is.
    secret      TEXT NOT NULL,
    created_by  BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at  BIGINT NOT NULL,
    rotated_at  BIGINT
);
CREATE INDEX webhooks_task ON webhooks(task_id, id);

CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    webhook_id      BIGINT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    task_id         BIGINT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    event           TEXT NOT NULL,
    -- The same for every delivery of one event (retries and redeliveries): receivers dedupe on it.
    event_id        TEXT NOT NULL,
    -- The exact body sent on every attempt.
    body            TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    -- A worker that claimed the row owns it until then (a crashed worker's claim runs out).
    claimed_until   BIGINT NOT NULL DEFAULT 0,
    claim_token     TEXT,
    last_status     BIGINT,
    last_error      TEXT,
    last_attempt_at BIGINT,
    redelivery_of   BIGINT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(state, next_attempt_at);
CREATE INDEX webhook_deliveries_task ON webhook_deliveries(task_id, id);
CREATE INDEX webhook_deliveries_claim ON webhook_deliveries(claim_token);

-- Every attempt of a delivery: when, what the receiver answered (or why there was no answer), how long.
CREATE TABLE webhook_attempts (
    id           INTEGER PRIMARY KEY,
    delivery_id  BIGINT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    attempt      BIGINT NOT NULL,
    at           BIGINT NOT NULL,
    status       BIGINT,
    error        TEXT,
    duration_ms  BIGINT NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts(delivery_id, id);
