use fechatter_events::{ChatId, MessageId, UserId};
use sqlx::{FromRow, PgExecutor};

use crate::db::timed;
use crate::models::PageRequest;
use crate::models::message::MessageRow;

const COLUMNS: &str =
    "id, chat_id, sender_id, content, reply_to, created_at, edited_at, deleted_at";

pub struct NewMessage<'a> {
    pub chat_id: ChatId,
    pub sender_id: UserId,
    pub content: &'a str,
    pub reply_to: Option<MessageId>,
    pub idempotency_key: Option<&'a str>,
}

/// Inserts the message; `None` when the sender already used this idempotency key.
pub async fn insert(
    db: impl PgExecutor<'_>,
    message: NewMessage<'_>,
) -> Result<Option<MessageRow>, sqlx::Error> {
    let sql = format!(
        "INSERT INTO messages (chat_id, sender_id, content, reply_to, idempotency_key)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (sender_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
         RETURNING {COLUMNS}"
    );
    timed(
        "messages.insert",
        sqlx::query_as::<_, MessageRow>(&sql)
            .bind(message.chat_id)
            .bind(message.sender_id)
            .bind(message.content)
            .bind(message.reply_to)
            .bind(message.idempotency_key)
            .fetch_optional(db),
    )
    .await
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

pub async fn soft_delete(db: impl PgExecutor<'_>, id: MessageId) -> Result<(), sqlx::Error> {
    timed(
        "messages.delete",
        sqlx::query("UPDATE messages SET deleted_at = now() WHERE id = $1")
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
/// What the API adds to a message row: its mentions, its reaction counts as the viewer sees them
/// (in order of each emoji's first use) and whether files are attached, read in the same round
/// trip as the rows they belong to.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Details {
    pub mentions: Vec<UserId>,
    pub reaction_emojis: Vec<String>,
    pub reaction_counts: Vec<i64>,
    pub reaction_mine: Vec<bool>,
    pub has_files: bool,
}

#[derive(Debug, FromRow)]
pub struct DetailedRow {
    #[sqlx(flatten)]
    pub row: MessageRow,
    #[sqlx(flatten)]
    pub details: Details,
}

#[derive(Debug, FromRow)]
pub struct DetailsOf {
    pub id: MessageId,
    #[sqlx(flatten)]
    pub details: Details,
}

/// The details of each message `m` of the FROM clause; `viewer` is the viewer's parameter.
fn details_sql(from: &str, viewer: &str) -> String {
    format!(
        "ARRAY(SELECT user_id FROM mentions WHERE message_id = m.id ORDER BY user_id) AS mentions,
         COALESCE(r.emojis, '{{}}') AS reaction_emojis,
         COALESCE(r.counts, '{{}}') AS reaction_counts,
         COALESCE(r.mine, '{{}}') AS reaction_mine,
         EXISTS (SELECT 1 FROM message_files WHERE message_id = m.id) AS has_files
         FROM {from}
         LEFT JOIN LATERAL (
             SELECT array_agg(emoji ORDER BY first, emoji) AS emojis,
                    array_agg(n ORDER BY first, emoji) AS counts,
                    array_agg(me ORDER BY first, emoji) AS mine
             FROM (SELECT emoji, count(*) AS n, bool_or(user_id = {viewer}) AS me,
                          min(created_at) AS first
                   FROM reactions WHERE message_id = m.id GROUP BY emoji) AS per_emoji
         ) AS r ON true"
    )
}

/// A page of the chat's live messages, newest first, with their details as `viewer` sees them:
/// one round trip.
pub async fn page(
    db: impl PgExecutor<'_>,
    chat: ChatId,
    page: PageRequest,
    viewer: UserId,
) -> Result<Vec<DetailedRow>, sqlx::Error> {
    let before = if page.before.is_some() {
        "AND id < $4"
    } else {
        ""
    };
    let sql = format!(
        "SELECT m.*, {} ORDER BY m.id DESC",
        details_sql(
            &format!(
                "(SELECT {COLUMNS} FROM messages WHERE chat_id = $1 AND deleted_at IS NULL {before}
                  ORDER BY id DESC LIMIT $2) AS m"
            ),
            "$3",
        )
    );
    let mut query = sqlx::query_as::<_, DetailedRow>(&sql)
        .bind(chat)
        .bind(page.fetch_limit())
        .bind(viewer);
    if let Some(before) = page.before {
        query = query.bind(before);
    }
    timed("messages.page", query.fetch_all(db)).await
}

/// The details of these messages as `viewer` sees them.
pub async fn details(
    db: impl PgExecutor<'_>,
    messages: &[MessageId],
    viewer: UserId,
) -> Result<Vec<DetailsOf>, sqlx::Error> {
    let sql = format!(
        "SELECT m.id, {}",
        details_sql("unnest($1::bigint[]) AS m(id)", "$2")
    );
    timed(
        "messages.details",
        sqlx::query_as::<_, DetailsOf>(&sql)
            .bind(messages)
            .bind(viewer)
            .fetch_all(db),
    )
    .await
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
