-- Uploaded files and the messages that reference them.
--
-- The bytes live on disk, content-addressed by SHA-256 (identical uploads share one blob); a row is
-- one upload: who uploaded it, in which workspace, under which name and detected content type.
CREATE TABLE files (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id BIGINT      NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    uploader_id  BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sha256       BYTEA       NOT NULL CHECK (length(sha256) = 32),
    size_bytes   BIGINT      NOT NULL CHECK (size_bytes >= 0),
    -- Detected from the bytes, never taken from the client.
    content_type TEXT        NOT NULL,
    filename     TEXT        NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX files_uploader_idx ON files (uploader_id);

-- A file is visible to its uploader and to the members of every chat with a live message
-- referencing it.
CREATE TABLE message_files (
    message_id BIGINT   NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    file_id    BIGINT   NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    -- Copied from the message so visibility checks join members directly.
    chat_id    BIGINT   NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    position   SMALLINT NOT NULL,
    PRIMARY KEY (message_id, file_id)
);
CREATE INDEX message_files_file_idx ON message_files (file_id, chat_id);
