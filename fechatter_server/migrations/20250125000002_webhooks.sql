-- Webhooks. Incoming: a secret token (only its SHA-256 is stored) lets an outside system post into
-- a chat under an integration's name; the message's sender is the webhook's creator and
-- `messages.integration` names the integration. Outgoing: a chat's events are POSTed, signed with
-- the webhook's secret (kept, since every delivery is signed with it), to a URL; the relay queues a
-- delivery per event and webhook in the transaction that deletes the published events, and the
-- delivery log is `webhook_deliveries`.

ALTER TABLE messages ADD COLUMN integration TEXT;

CREATE TABLE incoming_webhooks (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    chat_id    BIGINT      NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    name       TEXT        NOT NULL,
    token_hash BYTEA       NOT NULL UNIQUE,
    created_by BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at TIMESTAMPTZ
);
CREATE INDEX incoming_webhooks_chat_idx ON incoming_webhooks (chat_id) WHERE revoked_at IS NULL;

CREATE TABLE outgoing_webhooks (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    chat_id    BIGINT      NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    url        TEXT        NOT NULL,
    secret     TEXT        NOT NULL,
    created_by BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at TIMESTAMPTZ
);
-- The relay's look-up: the active webhooks of the chats of a batch of events.
CREATE INDEX outgoing_webhooks_chat_idx ON outgoing_webhooks (chat_id) WHERE revoked_at IS NULL;

CREATE TABLE webhook_deliveries (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id      BIGINT      NOT NULL REFERENCES outgoing_webhooks (id) ON DELETE CASCADE,
    event_id        UUID        NOT NULL,
    event_kind      TEXT        NOT NULL,
    -- The envelope without its recipients: who else receives an event is not the receiver's to know.
    body            TEXT        NOT NULL,
    status          TEXT        NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER     NOT NULL DEFAULT 0,
    -- When a pending delivery is due; while an attempt runs, the end of its lease.
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_status     INTEGER,
    last_error      TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at     TIMESTAMPTZ,
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
-- A webhook's delivery log, newest first.
CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id, id DESC);
