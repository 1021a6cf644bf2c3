use fechatter_events::{ChatId, MessageId, UserId};
use sqlx::PgExecutor;

use crate::db::timed;
use crate::models::PageRequest;
use crate::models::message::MessageRow;

const COLUMNS: &str =
    "id, chat_id, sender_id, content, reply_to, thread_root_id, integration, created_at, edited_at,
     deleted_at";

pub struct NewMessage<'a> {
    pub chat_id: ChatId,
    pub sender_id: UserId,
    pub content: &'a str,
    pub reply_to: Option<MessageId>,
    pub thread_root_id: Option<MessageId>,
    pub integration: Option<&'a str>,
    pub idempotency_key: Option<&'a str>,
}

pub async fn find_by_idempotency_key(
    db: impl PgExecutor<'_>,
    sender: UserId,
    key: &str,
) -> Result<Option<MessageRow>, sqlx::Error> {
    let sql =
        format!("SELECT {COLUMNS} FROM messages WHERE sender_id = $1 AND idempotency_key = $2");
    timed(
        "messages.find_by_idempotency_key",
        sqlx::query_as::<_, MessageRow>(&sql)
            .bind(sender)
            .bind(key)
            .fetch_optional(db),
    )
    .await
}

/// Whether `id` is a message of `chat` (deleted or not).
pub async fn exists_in_chat(
    db: impl PgExecutor<'_>,
    chat: ChatId,
    id: MessageId,
) -> Result<bool, sqlx::Error> {
    timed(
        "messages.exists",
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM messages WHERE id = $1 AND chat_id = $2)")
            .bind(id)
            .bind(chat)
            .fetch_one(db),
    )
    .await
}

/// A message of `chat` that is not deleted.
pub async fn find_live(
    db: impl PgExecutor<'_>,
    chat: ChatId,
    id: MessageId,
) -> Result<Option<MessageRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM messages WHERE id = $1 AND chat_id = $2 AND deleted_at IS NULL"
    );
    timed(
        "messages.find",
        sqlx::query_as::<_, MessageRow>(&sql)
            .bind(id)
            .bind(chat)
            .fetch_optional(db),
    )
    .await
}

/// Like [`find_live`], locking the row until the transaction ends.
pub async fn lock_live(
    db: impl PgExecutor<'_>,
    chat: ChatId,
    id: MessageId,
) -> Result<Option<MessageRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM messages
         WHERE id = $1 AND chat_id = $2 AND deleted_at IS NULL FOR UPDATE"
    );
    timed(
        "messages.lock",
        sqlx::query_as::<_, MessageRow>(&sql)
            .bind(id)
            .bind(chat)
            .fetch_optional(db),
    )
    .await
}

pub async fn update_content(
    db: impl PgExecutor<'_>,
    id: MessageId,
    content: &str,
) -> Result<MessageRow, sqlx::Error> {
    let sql = format!(
        "UPDATE messages SET content = $2, edited_at = now() WHERE id = $1 RETURNING {COLUMNS}"
    );
    timed(
        "messages.update",
        sqlx::query_as::<_, MessageRow>(&sql)
            .bind(id)
            .bind(content)
            .fetch_one(db),
    )
    .await
}

/// Marks the message deleted and blanks its text: a deleted message keeps no content.
pub async fn soft_delete(db: impl PgExecutor<'_>, id: MessageId) -> Result<(), sqlx::Error> {
    timed(
        "messages.delete",
        sqlx::query("UPDATE messages SET deleted_at = now(), content = '' WHERE id = $1")
            .bind(id)
            .execute(db),
    )
    .await
    .map(|_| ())
}

/// A page of the chat's live messages, newest first.
///
/// Two statements rather than one with `($2 IS NULL OR id < $2)`: once Postgres caches a generic
/// plan for a prepared statement, that predicate is only a filter, so a page deep in a long chat
/// walked every newer index entry (a page at depth 500 000 took 100 ms instead of well under 1 ms;
/// see docs/benchmarks.md).
pub async fn page(
    db: impl PgExecutor<'_>,
    chat: ChatId,
    page: PageRequest,
) -> Result<Vec<MessageRow>, sqlx::Error> {
    let (sql, query);
    match page.before {
        None => {
            sql = format!(
                "SELECT {COLUMNS} FROM messages WHERE chat_id = $1 AND deleted_at IS NULL
                 ORDER BY id DESC LIMIT $2"
            );
            query = sqlx::query_as::<_, MessageRow>(&sql)
                .bind(chat)
                .bind(page.fetch_limit());
        }
        Some(before) => {
            sql = format!(
                "SELECT {COLUMNS} FROM messages WHERE chat_id = $1 AND deleted_at IS NULL AND id < $2
                 ORDER BY id DESC LIMIT $3"
            );
            query = sqlx::query_as::<_, MessageRow>(&sql)
                .bind(chat)
                .bind(before)
                .bind(page.fetch_limit());
        }
    }
    timed("messages.page", query.fetch_all(db)).await
}

pub async fn insert_mentions(
    db: impl PgExecutor<'_>,
    chat: ChatId,
    message: MessageId,
    users: &[UserId],
) -> Result<(), sqlx::Error> {
    if users.is_empty() {
        return Ok(());
    }
    timed(
        "mentions.insert",
        sqlx::query(
            "INSERT INTO mentions (message_id, user_id, chat_id)
             SELECT $1, unnest($2::bigint[]), $3 ON CONFLICT DO NOTHING",
        )
        .bind(message)
        .bind(users)
        .bind(chat)
        .execute(db),
    )
    .await
    .map(|_| ())
}

pub async fn delete_mentions(
    db: impl PgExecutor<'_>,
    message: MessageId,
) -> Result<(), sqlx::Error> {
    timed(
        "mentions.delete",
        sqlx::query("DELETE FROM mentions WHERE message_id = $1")
            .bind(message)
            .execute(db),
    )
    .await
    .map(|_| ())
}

/// (message, mentioned user) pairs of these messages.
pub async fn mentions_of(
    db: impl PgExecutor<'_>,
    messages: &[MessageId],
) -> Result<Vec<(MessageId, UserId)>, sqlx::Error> {
    timed(
        "mentions.of_messages",
        sqlx::query_as::<_, (MessageId, UserId)>(
            "SELECT message_id, user_id FROM mentions WHERE message_id = ANY($1)
             ORDER BY message_id, user_id",
        )
        .bind(messages)
        .fetch_all(db),
    )
    .await
}
