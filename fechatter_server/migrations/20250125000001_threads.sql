-- Threads: a reply belongs to the thread of its root (the message at the top of its reply chain).
-- `message_threads` keeps each thread's reply count and latest reply so that message and chat lists
-- need no aggregate over the replies; `thread_followers` are the users who wrote in a thread or
-- were mentioned in it, with how far each has read it.

ALTER TABLE messages ADD COLUMN thread_root_id BIGINT REFERENCES messages (id) ON DELETE CASCADE;

WITH RECURSIVE chain (id, root) AS (
    SELECT id, id FROM messages WHERE reply_to IS NULL
    UNION ALL
    SELECT m.id, chain.root FROM messages m JOIN chain ON m.reply_to = chain.id
)
UPDATE messages m SET thread_root_id = chain.root
FROM chain WHERE chain.id = m.id AND chain.root <> m.id;

-- A thread's replies, newest first (its pages and unread counts).
CREATE INDEX messages_thread_idx ON messages (thread_root_id, id DESC)
    WHERE thread_root_id IS NOT NULL;

CREATE TABLE message_threads (
    root_id       BIGINT      PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    chat_id       BIGINT      NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    -- Live (not deleted) replies; a thread whose replies are all deleted has no row.
    reply_count   BIGINT      NOT NULL CHECK (reply_count > 0),
    last_reply_id BIGINT      NOT NULL,
    last_reply_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX message_threads_chat_idx ON message_threads (chat_id, last_reply_id DESC);

INSERT INTO message_threads (root_id, chat_id, reply_count, last_reply_id, last_reply_at)
SELECT thread_root_id, chat_id, count(*), max(id), max(created_at)
FROM messages WHERE thread_root_id IS NOT NULL AND deleted_at IS NULL
GROUP BY thread_root_id, chat_id;

CREATE TABLE thread_followers (
    root_id            BIGINT      NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id            BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    chat_id            BIGINT      NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    -- NULL: the follower has read no reply of the thread.
    last_read_reply_id BIGINT,
    followed_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (root_id, user_id)
);
-- A user's followed threads (and per chat, for the chat list's thread unread count).
CREATE INDEX thread_followers_user_idx ON thread_followers (user_id, chat_id, root_id);

-- Existing threads: their authors and the users mentioned in them follow them.
INSERT INTO thread_followers (root_id, user_id, chat_id)
SELECT t.root_id, m.sender_id, t.chat_id
FROM message_threads t JOIN messages m ON m.id = t.root_id OR m.thread_root_id = t.root_id
UNION
SELECT t.root_id, mn.user_id, t.chat_id
FROM message_threads t JOIN messages m ON m.id = t.root_id OR m.thread_root_id = t.root_id
JOIN mentions mn ON mn.message_id = m.id
ON CONFLICT DO NOTHING;
