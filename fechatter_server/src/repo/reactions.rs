use fechatter_events::{MessageId, UserId};
use sqlx::PgExecutor;

use crate::db::timed;
use crate::models::message::ReactionCount;

/// Adds the reaction; false when the user had already reacted with this emoji.
pub async fn insert(
    db: impl PgExecutor<'_>,
    message: MessageId,
    user: UserId,
    emoji: &str,
) -> Result<bool, sqlx::Error> {
    timed(
        "reactions.insert",
        sqlx::query(
            "INSERT INTO reactions (message_id, user_id, emoji) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
        )
        .bind(message)
        .bind(user)
        .bind(emoji)
        .execute(db),
    )
    .await
    .map(|done| done.rows_affected() > 0)
}

/// How many distinct emojis the message carries, and whether `emoji` is among them.
pub async fn distinct(
    db: impl PgExecutor<'_>,
    message: MessageId,
    emoji: &str,
) -> Result<(i64, bool), sqlx::Error> {
    timed(
        "reactions.distinct",
        sqlx::query_as::<_, (i64, bool)>(
            "SELECT count(DISTINCT emoji), coalesce(bool_or(emoji = $2), false)
             FROM reactions WHERE message_id = $1",
        )
        .bind(message)
        .bind(emoji)
        .fetch_one(db),
    )
    .await
}

/// Removes the reaction; false when there was none.
pub async fn delete(
    db: impl PgExecutor<'_>,
    message: MessageId,
    user: UserId,
    emoji: &str,
) -> Result<bool, sqlx::Error> {
    timed(
        "reactions.delete",
        sqlx::query("DELETE FROM reactions WHERE message_id = $1 AND user_id = $2 AND emoji = $3")
            .bind(message)
            .bind(user)
            .bind(emoji)
            .execute(db),
    )
    .await
    .map(|done| done.rows_affected() > 0)
}

/// Reaction counts per message and emoji, in the order each emoji first appeared.
pub async fn counts(
    db: impl PgExecutor<'_>,
    messages: &[MessageId],
    viewer: UserId,
) -> Result<Vec<ReactionCount>, sqlx::Error> {
    timed(
        "reactions.counts",
        sqlx::query_as::<_, ReactionCount>(
            "SELECT message_id, emoji, count(*) AS count, bool_or(user_id = $2) AS me
             FROM reactions WHERE message_id = ANY($1)
             GROUP BY message_id, emoji
             ORDER BY message_id, min(created_at), emoji",
        )
        .bind(messages)
        .bind(viewer)
        .fetch_all(db),
    )
    .await
}

/// Who reacted with each emoji to these messages, in the order of [`counts`]: what every viewer's
/// counts are made of (the page cache).
pub async fn reactors(
    db: impl PgExecutor<'_>,
    messages: &[MessageId],
) -> Result<Vec<Reactors>, sqlx::Error> {
    timed(
        "reactions.reactors",
        sqlx::query_as::<_, Reactors>(
            "SELECT message_id, emoji, array_agg(user_id) AS users
             FROM reactions WHERE message_id = ANY($1)
             GROUP BY message_id, emoji
             ORDER BY message_id, min(created_at), emoji",
        )
        .bind(messages)
        .fetch_all(db),
    )
    .await
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Reactors {
    pub message_id: MessageId,
    pub emoji: String,
    pub users: Vec<UserId>,
}
