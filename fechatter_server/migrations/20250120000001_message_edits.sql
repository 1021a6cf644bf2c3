-- Edit history: the text a message had before each edit. A deleted message keeps no content, so
-- its history goes with it (the service deletes the rows when it blanks the message).

CREATE TABLE message_edits (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id  BIGINT      NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    -- The replaced text, and the time it had been written (the message's creation or its previous
    -- edit) and replaced.
    content     TEXT        NOT NULL,
    written_at  TIMESTAMPTZ NOT NULL,
    replaced_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- A message's versions newest first (keyset pages of the history).
CREATE INDEX message_edits_message_idx ON message_edits (message_id, id DESC);
