-- The message search index. bot_server writes it from the message events; fechatter_server reads it
-- for GET /api/search. Why full-text search with `simple` and prefixes, plus trigrams only for
-- scripts written without spaces: docs/search.md.

-- Trusted since PostgreSQL 13: the database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- One row per message. A deleted message keeps its row as a tombstone (empty text, `deleted_at`
-- set) so that an older event delivered late can never bring it back.
CREATE TABLE search_documents (
    message_id      BIGINT      PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    chat_id         BIGINT      NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    workspace_id    BIGINT      NOT NULL,
    -- NULL only on a tombstone written before the message itself was indexed.
    sender_id       BIGINT,
    sender_is_bot   BOOLEAN     NOT NULL DEFAULT false,
    content         TEXT        NOT NULL,
    -- `content` folded to lower case by the indexer (Unicode-aware, unlike lower() under the C
    -- locale), whitespace collapsed: what is searched.
    search_text     TEXT        NOT NULL,
    tsv             TSVECTOR    GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED,
    created_at      TIMESTAMPTZ NOT NULL,
    -- The message's edit time (its creation time until edited): a write only lands when it is
    -- newer than what is stored, so events applied out of order never undo an edit.
    version         TIMESTAMPTZ NOT NULL,
    -- The message's embedding and the model that made it; vectors of different models are never
    -- compared.
    embedding       REAL[],
    embedding_model TEXT,
    indexed_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted_at      TIMESTAMPTZ,
    CHECK ((embedding IS NULL) = (embedding_model IS NULL)),
    CHECK (embedding IS NULL
           OR (array_ndims(embedding) = 1 AND cardinality(embedding) BETWEEN 16 AND 4096))
);
CREATE INDEX search_documents_tsv_idx ON search_documents USING gin (tsv);
CREATE INDEX search_documents_trgm_idx ON search_documents USING gin (search_text gin_trgm_ops);
-- A chat's messages newest first: chat-scoped searches and the assistant's summaries.
CREATE INDEX search_documents_chat_idx ON search_documents (chat_id, message_id DESC)
    WHERE deleted_at IS NULL;

-- Events bot_server has finished, so a redelivered event is skipped. Pruned after the stream's
-- retention, when JetStream can no longer redeliver them.
CREATE TABLE bot_processed_events (
    event_id     UUID        PRIMARY KEY,
    processed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX bot_processed_events_age_idx ON bot_processed_events (processed_at);
