-- Chats, their members, messages, mentions and reactions.

CREATE TABLE chats (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id BIGINT      NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    chat_type    TEXT        NOT NULL
        CHECK (chat_type IN ('direct', 'group', 'private_channel', 'public_channel')),
    name         TEXT,
    description  TEXT,
    owner_id     BIGINT      NOT NULL REFERENCES users (id),
    -- The two users of a direct chat, lower id first: one direct chat per pair.
    direct_low   BIGINT REFERENCES users (id),
    direct_high  BIGINT REFERENCES users (id),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((chat_type = 'direct') = (direct_low IS NOT NULL AND direct_high IS NOT NULL)),
    CHECK (direct_low < direct_high),
    CHECK (chat_type NOT IN ('private_channel', 'public_channel') OR name IS NOT NULL)
);
CREATE UNIQUE INDEX chats_direct_pair_key ON chats (workspace_id, direct_low, direct_high)
    WHERE chat_type = 'direct';
CREATE UNIQUE INDEX chats_channel_name_key ON chats (workspace_id, lower(name))
    WHERE chat_type IN ('private_channel', 'public_channel');
CREATE INDEX chats_public_idx ON chats (workspace_id, id DESC) WHERE chat_type = 'public_channel';

CREATE TABLE chat_members (
    chat_id              BIGINT      NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    user_id              BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role                 TEXT        NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    joined_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- NULL: the member has read nothing, and the chat had no message when they joined.
    last_read_message_id BIGINT,
    PRIMARY KEY (chat_id, user_id)
);
CREATE INDEX chat_members_user_idx ON chat_members (user_id, chat_id DESC);

CREATE TABLE messages (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    chat_id         BIGINT      NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    sender_id       BIGINT      NOT NULL REFERENCES users (id),
    content         TEXT        NOT NULL,
    reply_to        BIGINT REFERENCES messages (id) ON DELETE SET NULL,
    idempotency_key TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    edited_at       TIMESTAMPTZ,
    deleted_at      TIMESTAMPTZ
);
-- Keyset pages of a chat, newest first; also the unread counts.
CREATE INDEX messages_chat_keyset_idx ON messages (chat_id, id DESC);
CREATE UNIQUE INDEX messages_idempotency_key ON messages (sender_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE TABLE mentions (
    message_id BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- Copied from the message so mention counts per chat need no join to find candidates.
    chat_id    BIGINT NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    PRIMARY KEY (message_id, user_id)
);
CREATE INDEX mentions_user_chat_idx ON mentions (user_id, chat_id, message_id);

CREATE TABLE reactions (
    message_id BIGINT      NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id    BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    emoji      TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (message_id, emoji, user_id)
);
