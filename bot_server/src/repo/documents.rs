//! Writing the search index (`search_documents`, created by fechatter_server's migrations).

use chrono::{DateTime, Utc};
use fechatter_events::{ChatId, EventId, MessageId, UserId, WorkspaceId};
use sqlx::PgExecutor;

use crate::db::timed;

/// A message as the index stores it.
pub struct Document<'a> {
    pub message_id: MessageId,
    pub chat_id: ChatId,
    pub workspace_id: WorkspaceId,
    pub sender_id: UserId,
    pub sender_is_bot: bool,
    pub content: &'a str,
    pub search_text: &'a str,
    pub created_at: DateTime<Utc>,
    /// The edit time, or the creation time until edited.
    pub version: DateTime<Utc>,
    pub embedding: Option<(&'a [f32], &'a str)>,
}

/// The versioned upsert of a document, its row taken from `$source` (`VALUES (…)`, or a `SELECT`
/// that yields no row when the event was handled before): it never overwrites a newer version or
/// a tombstone.
macro_rules! upsert_sql {
    ($source:literal) => {
        concat!(
            "INSERT INTO search_documents AS d (message_id, chat_id, workspace_id, sender_id,
                 sender_is_bot, content, search_text, created_at, version, embedding, embedding_model) ",
            $source,
            " ON CONFLICT (message_id) DO UPDATE SET
                 sender_id = EXCLUDED.sender_id,
                 sender_is_bot = EXCLUDED.sender_is_bot,
                 content = EXCLUDED.content,
                 search_text = EXCLUDED.search_text,
                 created_at = EXCLUDED.created_at,
                 version = EXCLUDED.version,
                 embedding = EXCLUDED.embedding,
                 embedding_model = EXCLUDED.embedding_model,
                 indexed_at = now()
             WHERE d.deleted_at IS NULL AND d.version < EXCLUDED.version"
        )
    };
}

/// The tombstone write: it turns a live row into a tombstone, or writes one when the delete
/// arrives first, so no later write can bring the text back.
macro_rules! tombstone_sql {
    ($source:literal) => {
        concat!(
            "INSERT INTO search_documents AS d (message_id, chat_id, workspace_id, content,
                 search_text, created_at, version, deleted_at) ",
            $source,
            " ON CONFLICT (message_id) DO UPDATE SET
                 content = '', search_text = '', embedding = NULL, embedding_model = NULL,
                 deleted_at = EXCLUDED.deleted_at, indexed_at = now()
             WHERE d.deleted_at IS NULL"
        )
    };
}

/// Records the event id (`bot_processed_events`) and, only if it was not recorded before, runs the
/// write that follows with its row taken from `fresh`; one statement, so one round trip and one
/// commit, and a failed write records nothing. A concurrent delivery of the same event waits on the
/// id's unique index and then finds it recorded.
macro_rules! once_sql {
    ($event:literal, $write:expr) => {
        concat!(
            "WITH fresh AS (
                 INSERT INTO bot_processed_events (event_id) VALUES (",
            $event,
            ") ON CONFLICT DO NOTHING RETURNING event_id
             ), written AS (",
            $write,
            " RETURNING 1)
             SELECT EXISTS (SELECT 1 FROM fresh), EXISTS (SELECT 1 FROM written)"
        )
    };
}

/// What an event's write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The event id was recorded already: a redelivery, nothing written.
    Duplicate,
    /// Recorded, and the row written.
    Written,
    /// Recorded, but the stored row was as new or newer, or a tombstone: nothing written.
    Unchanged,
}

impl Applied {
    fn from_flags((fresh, written): (bool, bool)) -> Self {
        match (fresh, written) {
            (false, _) => Applied::Duplicate,
            (true, true) => Applied::Written,
            (true, false) => Applied::Unchanged,
        }
    }
}

fn bind_document<'q>(
    query: sqlx::query::QueryAs<'q, sqlx::Postgres, (bool, bool), sqlx::postgres::PgArguments>,
    doc: &Document<'q>,
) -> sqlx::query::QueryAs<'q, sqlx::Postgres, (bool, bool), sqlx::postgres::PgArguments> {
    let (vector, model) = doc.embedding.unzip();
    query
        .bind(doc.message_id)
        .bind(doc.chat_id)
        .bind(doc.workspace_id)
        .bind(doc.sender_id)
        .bind(doc.sender_is_bot)
        .bind(doc.content)
        .bind(doc.search_text)
        .bind(doc.created_at)
        .bind(doc.version)
        .bind(vector)
        .bind(model)
}

/// Stores the document for the event `event` unless that event was handled before, or what is
/// stored is as new or newer, or a tombstone.
pub async fn upsert_once(
    db: impl PgExecutor<'_>,
    event: EventId,
    doc: Document<'_>,
) -> Result<Applied, sqlx::Error> {
    let query = sqlx::query_as(once_sql!(
        "$12",
        upsert_sql!("SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 FROM fresh")
    ));
    timed(
        "documents.upsert_once",
        bind_document(query, &doc).bind(event).fetch_one(db),
    )
    .await
    .map(Applied::from_flags)
}

/// Turns the message's row into a tombstone (or writes one, when the delete arrives first) for the
/// event `event`, unless that event was handled before.
pub async fn tombstone_once(
    db: impl PgExecutor<'_>,
    event: EventId,
    message: MessageId,
    chat: ChatId,
    workspace: WorkspaceId,
    deleted_at: DateTime<Utc>,
) -> Result<Applied, sqlx::Error> {
    timed(
        "documents.tombstone_once",
        sqlx::query_as(once_sql!(
            "$5",
            tombstone_sql!("SELECT $1, $2, $3, '', '', $4, $4, $4 FROM fresh")
        ))
        .bind(message)
        .bind(chat)
        .bind(workspace)
        .bind(deleted_at)
        .bind(event)
        .fetch_one(db),
    )
    .await
    .map(Applied::from_flags)
}

/// Messages in the index, tombstones excluded.
pub async fn count_live(db: impl PgExecutor<'_>) -> Result<i64, sqlx::Error> {
    timed(
        "documents.count",
        sqlx::query_scalar("SELECT count(*) FROM search_documents WHERE deleted_at IS NULL")
            .fetch_one(db),
    )
    .await
}
