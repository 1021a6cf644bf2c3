//! Pinned messages (`message_pins`).

use chrono::{DateTime, Utc};
use fechatter_events::{ChatId, MessageId, UserId};
use sqlx::PgExecutor;

use crate::db::timed;
use crate::models::message::PinRow;

/// Pins the message; the pin time, or `None` when it was already pinned.
pub async fn insert(
    db: impl PgExecutor<'_>,
    chat: ChatId,
    message: MessageId,
    by: UserId,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    timed(
        "pins.insert",
        sqlx::query_scalar(
            "INSERT INTO message_pins (message_id, chat_id, pinned_by) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING RETURNING pinned_at",
        )
        .bind(message)
        .bind(chat)
        .bind(by)
        .fetch_optional(db),
    )
    .await
}

/// Unpins the message; false when it was not pinned.
pub async fn delete(db: impl PgExecutor<'_>, message: MessageId) -> Result<bool, sqlx::Error> {
    timed(
        "pins.delete",
        sqlx::query("DELETE FROM message_pins WHERE message_id = $1")
            .bind(message)
            .execute(db),
    )
    .await
    .map(|done| done.rows_affected() > 0)
}

pub async fn count(db: impl PgExecutor<'_>, chat: ChatId) -> Result<i64, sqlx::Error> {
    timed(
        "pins.count",
        sqlx::query_scalar("SELECT count(*) FROM message_pins WHERE chat_id = $1")
            .bind(chat)
            .fetch_one(db),
    )
    .await
}

/// The chat's pins on live messages, the latest pinned first.
pub async fn of_chat(db: impl PgExecutor<'_>, chat: ChatId) -> Result<Vec<PinRow>, sqlx::Error> {
    timed(
        "pins.of_chat",
        sqlx::query_as::<_, PinRow>(
            "SELECT m.id, m.chat_id, m.sender_id, m.content, m.reply_to, m.thread_root_id, m.integration, m.created_at,
                    m.edited_at, m.deleted_at, p.pinned_by, p.pinned_at
             FROM message_pins p
             JOIN messages m ON m.id = p.message_id AND m.deleted_at IS NULL
             WHERE p.chat_id = $1 ORDER BY p.pinned_at DESC, p.message_id DESC",
        )
        .bind(chat)
        .fetch_all(db),
    )
    .await
}
