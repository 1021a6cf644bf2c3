//! The edit history of messages (`message_edits`).

use chrono::{DateTime, Utc};
use fechatter_events::MessageId;
use sqlx::PgExecutor;

use crate::db::timed;
use crate::models::PageRequest;
use crate::models::message::MessageVersion;

/// Keeps the text a message had before an edit, written at `written_at`.
pub async fn insert(
    db: impl PgExecutor<'_>,
    message: MessageId,
    content: &str,
    written_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    timed(
        "message_edits.insert",
        sqlx::query(
            "INSERT INTO message_edits (message_id, content, written_at) VALUES ($1, $2, $3)",
        )
        .bind(message)
        .bind(content)
        .bind(written_at)
        .execute(db),
    )
    .await
    .map(|_| ())
}

/// Forgets every earlier version of the message (it was deleted).
pub async fn delete_all(db: impl PgExecutor<'_>, message: MessageId) -> Result<(), sqlx::Error> {
    timed(
        "message_edits.delete",
        sqlx::query("DELETE FROM message_edits WHERE message_id = $1")
            .bind(message)
            .execute(db),
    )
    .await
    .map(|_| ())
}

/// A page of the message's earlier versions, the most recently replaced first.
pub async fn page(
    db: impl PgExecutor<'_>,
    message: MessageId,
    page: PageRequest,
) -> Result<Vec<MessageVersion>, sqlx::Error> {
    timed(
        "message_edits.page",
        sqlx::query_as::<_, MessageVersion>(
            "SELECT id, content, written_at, replaced_at FROM message_edits
             WHERE message_id = $1 AND id < coalesce($2, 9223372036854775807)
             ORDER BY id DESC LIMIT $3",
        )
        .bind(message)
        .bind(page.before)
        .bind(page.fetch_limit())
        .fetch_all(db),
    )
    .await
}
