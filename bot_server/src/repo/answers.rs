//! The assistant's answers (`bot_answers`): composed once per question event, then posted once.

use std::time::Duration;

use fechatter_events::{ChatId, EventId};
use sqlx::PgExecutor;

use crate::db::timed;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Answer {
    pub content: String,
    /// `answered` or `provider_error`.
    pub result: String,
    pub posted: bool,
}

pub async fn find(db: impl PgExecutor<'_>, event: EventId) -> Result<Option<Answer>, sqlx::Error> {
    timed(
        "answers.find",
        sqlx::query_as(
            "SELECT content, result, posted_at IS NOT NULL AS posted
             FROM bot_answers WHERE event_id = $1",
        )
        .bind(event)
        .fetch_optional(db),
    )
    .await
}

/// Keeps the first answer composed for `event`: returns the stored one, which is `content`
/// unless another delivery stored its own first.
pub async fn keep_first(
    db: impl PgExecutor<'_>,
    event: EventId,
    chat: ChatId,
    content: &str,
    result: &str,
) -> Result<Answer, sqlx::Error> {
    timed(
        "answers.keep_first",
        sqlx::query_as(
            "WITH inserted AS (
                 INSERT INTO bot_answers (event_id, chat_id, content, result)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (event_id) DO NOTHING
                 RETURNING content, result, posted_at IS NOT NULL AS posted
             )
             SELECT content, result, posted FROM inserted
             UNION ALL
             SELECT content, result, posted_at IS NOT NULL FROM bot_answers WHERE event_id = $1
             LIMIT 1",
        )
        .bind(event)
        .bind(chat)
        .bind(content)
        .bind(result)
        .fetch_one(db),
    )
    .await
}

pub async fn mark_posted(db: impl PgExecutor<'_>, event: EventId) -> Result<(), sqlx::Error> {
    timed(
        "answers.mark_posted",
        sqlx::query("UPDATE bot_answers SET posted_at = now() WHERE event_id = $1")
            .bind(event)
            .execute(db),
    )
    .await
    .map(|_| ())
}

/// Forgets answers older than `age` (JetStream can no longer redeliver their questions); how many.
pub async fn prune(db: impl PgExecutor<'_>, age: Duration) -> Result<u64, sqlx::Error> {
    timed(
        "answers.prune",
        sqlx::query("DELETE FROM bot_answers WHERE created_at < now() - make_interval(secs => $1)")
            .bind(age.as_secs_f64())
            .execute(db),
    )
    .await
    .map(|done| done.rows_affected())
}
