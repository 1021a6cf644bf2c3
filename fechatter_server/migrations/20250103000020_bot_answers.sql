-- The assistant's answers, one per question event: composed once (a retry never asks the language
-- model again) and posted once (`posted_at`, with the event id as the post's idempotency key).
-- Pruned with bot_processed_events, after the stream's retention.
CREATE TABLE bot_answers (
    event_id    UUID        PRIMARY KEY,
    chat_id     BIGINT      NOT NULL,
    content     TEXT        NOT NULL,
    result      TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    posted_at   TIMESTAMPTZ
);
CREATE INDEX bot_answers_age_idx ON bot_answers (created_at);
