//! Writing the search index (`search_documents`, created by fechatter_server's migrations).

use chrono::{DateTime, Utc};
use fechatter_events::{ChatId, MessageId, UserId, WorkspaceId};
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

/// Stores the document unless what is stored is as new or newer, or a tombstone; whether it was
/// written.
pub async fn upsert(db: impl PgExecutor<'_>, doc: Document<'_>) -> Result<bool, sqlx::Error> {
    let (vector, model) = doc.embedding.unzip();
    timed(
        "documents.upsert",
        sqlx::query(
            "INSERT INTO search_documents AS d (message_id, chat_id, workspace_id, sender_id,
                 sender_is_bot, content, search_text, created_at, version, embedding, embedding_model)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (message_id) DO UPDATE SET
                 sender_id = EXCLUDED.sender_id,
                 sender_is_bot = EXCLUDED.sender_is_bot,
                 content = EXCLUDED.content,
                 search_text = EXCLUDED.search_text,
                 created_at = EXCLUDED.created_at,
                 version = EXCLUDED.version,
                 embedding = EXCLUDED.embedding,
                 embedding_model = EXCLUDED.embedding_model,
                 indexed_at = now()
             WHERE d.deleted_at IS NULL AND d.version < EXCLUDED.version",
        )
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
        .execute(db),
    )
    .await
    .map(|done| done.rows_affected() > 0)
}

/// Turns the message's row into a tombstone (or writes one, when the delete arrives first), so no
/// later write can bring the text back; whether it was live before.
pub async fn tombstone(
    db: impl PgExecutor<'_>,
    message: MessageId,
    chat: ChatId,
    workspace: WorkspaceId,
    deleted_at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    timed(
        "documents.tombstone",
        sqlx::query(
            "INSERT INTO search_documents AS d (message_id, chat_id, workspace_id, content,
                 search_text, created_at, version, deleted_at)
             VALUES ($1, $2, $3, '', '', $4, $4, $4)
             ON CONFLICT (message_id) DO UPDATE SET
                 content = '', search_text = '', embedding = NULL, embedding_model = NULL,
                 deleted_at = EXCLUDED.deleted_at, indexed_at = now()
             WHERE d.deleted_at IS NULL",
        )
        .bind(message)
        .bind(chat)
        .bind(workspace)
        .bind(deleted_at)
        .execute(db),
    )
    .await
    .map(|done| done.rows_affected() > 0)
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
