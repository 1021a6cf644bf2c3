-- Pinned messages: at most one pin per message. A deleted message loses its pin (the service
-- removes it with the message's content).

CREATE TABLE message_pins (
    message_id BIGINT      PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    chat_id    BIGINT      NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    pinned_by  BIGINT      NOT NULL REFERENCES users (id),
    pinned_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- A chat's pins, the latest first (and how many it has).
CREATE INDEX message_pins_chat_idx ON message_pins (chat_id, pinned_at DESC);
