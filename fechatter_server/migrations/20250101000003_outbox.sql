-- Domain events waiting for the relay to publish them to JetStream. A change and its event are
-- written in one transaction; the relay deletes a row only after JetStream acknowledged it.
CREATE TABLE outbox (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id   UUID        NOT NULL UNIQUE,
    kind       TEXT        NOT NULL,
    envelope   JSONB       NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
