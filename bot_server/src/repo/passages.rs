//! Reading one chat's indexed messages for the assistant: what its answers quote. The assistant's
//! own messages and the message being answered are never material.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use fechatter_events::{ChatId, MessageId};
use fechatter_search::ranking::{Similarity, hybrid_binds, hybrid_score_sql};
use sqlx::{FromRow, PgExecutor};

use crate::db::timed;

/// An earlier message of the chat.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct Passage {
    pub message_id: MessageId,
    pub chat_id: ChatId,
    /// The author's `@handle`, if the author still exists.
    pub handle: Option<String>,
    pub content: String,
    pub created_at: DateTime<Utc>,
    pub score: f32,
}

/// Which messages to look at and how to rank them.
pub struct Lookup<'a> {
    pub chat_id: ChatId,
    /// The message being answered.
    pub asked: MessageId,
    /// `to_tsquery('simple', …)` text; `None` when the query has no words for it.
    pub tsquery: Option<&'a str>,
    pub like_patterns: &'a [String],
    /// Every term must match (a search) rather than any (a question).
    pub all_terms: bool,
    /// The question's embedding and model, and the share of the score similarity gets.
    pub embedding: Similarity<'a>,
    pub limit: i64,
}

/// Candidates are the matching messages (with no terms to match: the latest ones), at most the
/// 1000 newest; they are ranked by lexical rank blended with embedding similarity.
static RANKED: LazyLock<String> = LazyLock::new(|| {
    format!(
        "
WITH q AS (
    SELECT CASE WHEN $2::text IS NULL THEN NULL ELSE to_tsquery('simple', $2) END AS query
), candidates AS (
    SELECT d.* FROM search_documents d, q
    WHERE d.chat_id = $1
      AND d.deleted_at IS NULL
      AND NOT d.sender_is_bot
      AND d.message_id <> $4
      AND CASE WHEN $5 THEN (q.query IS NULL OR d.tsv @@ q.query) AND d.search_text LIKE ALL ($3)
               ELSE (q.query IS NULL AND cardinality($3::text[]) = 0)
                    OR d.tsv @@ q.query OR d.search_text LIKE ANY ($3)
          END
    ORDER BY d.message_id DESC
    LIMIT 1000
)
SELECT c.message_id, c.chat_id, u.handle, c.content, c.created_at, {} AS score
FROM candidates c CROSS JOIN q
LEFT JOIN users u ON u.id = c.sender_id
ORDER BY score DESC, c.message_id DESC
LIMIT $9",
        hybrid_score_sql("c", "q.query", "$6", "$7", "$8")
    )
});

pub async fn ranked(
    db: impl PgExecutor<'_>,
    lookup: Lookup<'_>,
) -> Result<Vec<Passage>, sqlx::Error> {
    let (vector, model, weight) = hybrid_binds(lookup.embedding);
    timed(
        "passages.ranked",
        sqlx::query_as::<_, Passage>(RANKED.as_str())
            .bind(lookup.chat_id)
            .bind(lookup.tsquery)
            .bind(lookup.like_patterns)
            .bind(lookup.asked)
            .bind(lookup.all_terms)
            .bind(weight)
            .bind(model)
            .bind(vector)
            .bind(lookup.limit)
            .fetch_all(db),
    )
    .await
}

/// The chat's latest messages before the one being answered, oldest first.
pub async fn latest(
    db: impl PgExecutor<'_>,
    chat: ChatId,
    asked: MessageId,
    limit: i64,
) -> Result<Vec<Passage>, sqlx::Error> {
    let mut passages = timed(
        "passages.latest",
        sqlx::query_as::<_, Passage>(
            "SELECT d.message_id, d.chat_id, u.handle, d.content, d.created_at, 0::real AS score
             FROM search_documents d LEFT JOIN users u ON u.id = d.sender_id
             WHERE d.chat_id = $1 AND d.deleted_at IS NULL AND NOT d.sender_is_bot
               AND d.message_id < $2
             ORDER BY d.message_id DESC LIMIT $3",
        )
        .bind(chat)
        .bind(asked)
        .bind(limit)
        .fetch_all(db),
    )
    .await?;
    passages.reverse();
    Ok(passages)
}
