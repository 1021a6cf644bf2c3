-- Bots removed from a chat. A later @mention does not bring such a bot back; only an explicit add
-- by someone allowed to add members does, and it clears the row.
CREATE TABLE chat_bot_removals (
    chat_id    BIGINT      NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    bot_id     BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    removed_by BIGINT      REFERENCES users (id) ON DELETE SET NULL,
    removed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (chat_id, bot_id)
);
