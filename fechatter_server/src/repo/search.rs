//! Reading the search index that bot_server writes (`search_documents`, see its migration), checked
//! against the messages as they are now: the index lags behind edits and deletes.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use fechatter_events::{ChatId, MessageId, UserId, WorkspaceId};
use fechatter_search::ranking::{Similarity, hybrid_binds, hybrid_score_sql};
use sqlx::PgExecutor;

use crate::db::timed;
use crate::models::search::{SearchCursor, SearchRow};

/// One ranked search, already validated and translated by the service.
pub struct SearchSql<'a> {
    pub caller: UserId,
    pub workspace_id: WorkspaceId,
    pub chat_id: Option<ChatId>,
    /// `to_tsquery('simple', …)` text; `None` when the query is only substrings.
    pub tsquery: Option<&'a str>,
    /// `LIKE` patterns the folded text must all contain.
    pub like_patterns: &'a [String],
    /// The query's embedding for hybrid ranking, its model, and its share of the score.
    pub embedding: Similarity<'a>,
    pub before: Option<SearchCursor>,
    pub fetch_limit: i64,
    pub filters: SqlFilters<'a>,
}

/// The query's operators, resolved to ids (`None`: no such filter).
#[derive(Debug, Clone, Copy, Default)]
pub struct SqlFilters<'a> {
    pub senders: Option<&'a [UserId]>,
    pub chats: Option<&'a [ChatId]>,
    pub has_file: bool,
    pub has_link: bool,
    pub after: Option<DateTime<Utc>>,
    pub before: Option<DateTime<Utc>>,
}

/// Matches in the chats the caller is a member of that pass the filters (checked on the message as
/// it is now: its sender, chat, files, current text and time), best first: the lexical rank, blended with the
/// cosine similarity of the stored embedding when one of the same model is given. Ties go to the
/// newer message. Each match is joined with its message as it is now: a message deleted since it
/// was indexed is left out whatever the index says, the text returned is the current one, and
/// `stale` tells when the index holds an older version of it (an edit not indexed yet).
static SEARCH: LazyLock<String> = LazyLock::new(|| {
    format!(
        "
SELECT message_id, chat_id, sender_id, content, created_at, edited_at, stale, score FROM (
    SELECT d.message_id, d.chat_id, msg.sender_id, msg.content, msg.created_at, msg.edited_at,
           d.version <> coalesce(msg.edited_at, msg.created_at) AS stale,
           {} AS score
    FROM search_documents d
    JOIN chat_members m ON m.chat_id = d.chat_id AND m.user_id = $1
    JOIN messages msg ON msg.id = d.message_id AND msg.deleted_at IS NULL
    CROSS JOIN (SELECT CASE WHEN $3::text IS NULL THEN NULL
                            ELSE to_tsquery('simple', $3) END AS query) q
    WHERE d.workspace_id = $2
      AND d.deleted_at IS NULL
      AND ($4::bigint IS NULL OR d.chat_id = $4)
      AND (q.query IS NULL OR d.tsv @@ q.query)
      AND d.search_text LIKE ALL ($5::text[])
      AND ($12::bigint[] IS NULL OR msg.sender_id = ANY ($12))
      AND ($13::bigint[] IS NULL OR d.chat_id = ANY ($13))
      AND (NOT $14 OR EXISTS (SELECT 1 FROM message_files f WHERE f.message_id = d.message_id))
      AND (NOT $15 OR msg.content ~* 'https?://[^[:space:]]')
      AND ($16::timestamptz IS NULL OR msg.created_at >= $16)
      AND ($17::timestamptz IS NULL OR msg.created_at < $17)
) ranked
WHERE ($6::real IS NULL OR (ranked.score, ranked.message_id) < ($6::real, $7::bigint))
ORDER BY ranked.score DESC, ranked.message_id DESC
LIMIT $11",
        hybrid_score_sql("d", "q.query", "$8", "$9", "$10")
    )
});

pub async fn search(
    db: impl PgExecutor<'_>,
    search: SearchSql<'_>,
) -> Result<Vec<SearchRow>, sqlx::Error> {
    let (vector, model, weight) = hybrid_binds(search.embedding);
    timed(
        "search.query",
        sqlx::query_as::<_, SearchRow>(SEARCH.as_str())
            .bind(search.caller)
            .bind(search.workspace_id)
            .bind(search.tsquery)
            .bind(search.chat_id)
            .bind(search.like_patterns)
            .bind(search.before.map(|cursor| cursor.score))
            .bind(search.before.map(|cursor| cursor.message_id))
            .bind(weight)
            .bind(model)
            .bind(vector)
            .bind(search.fetch_limit)
            .bind(search.filters.senders)
            .bind(search.filters.chats)
            .bind(search.filters.has_file)
            .bind(search.filters.has_link)
            .bind(search.filters.after)
            .bind(search.filters.before)
            .fetch_all(db),
    )
    .await
}

/// Those of `messages` whose current text, folded as the indexer folds it (`folded`, in the same
/// order), still matches the query: the same `tsquery` and `LIKE` patterns the index is searched
/// with, so an edit not indexed yet is judged exactly as its indexed version would be.
pub async fn still_matching(
    db: impl PgExecutor<'_>,
    messages: &[MessageId],
    folded: &[String],
    tsquery: Option<&str>,
    like_patterns: &[String],
) -> Result<Vec<MessageId>, sqlx::Error> {
    timed(
        "search.recheck",
        sqlx::query_scalar::<_, MessageId>(
            "SELECT id FROM unnest($1::bigint[], $2::text[]) AS t (id, folded)
             WHERE ($3::text IS NULL OR to_tsvector('simple', folded) @@ to_tsquery('simple', $3))
               AND folded LIKE ALL ($4::text[])",
        )
        .bind(messages)
        .bind(folded)
        .bind(tsquery)
        .bind(like_patterns)
        .fetch_all(db),
    )
    .await
}

/// The users of `workspace` with these handles, as (handle, id).
pub async fn users_by_handle(
    db: impl PgExecutor<'_>,
    workspace: WorkspaceId,
    handles: &[String],
) -> Result<Vec<(String, UserId)>, sqlx::Error> {
    timed(
        "search.users_by_handle",
        sqlx::query_as(
            "SELECT handle, id FROM users WHERE workspace_id = $1 AND handle = ANY ($2)",
        )
        .bind(workspace)
        .bind(handles)
        .fetch_all(db),
    )
    .await
}

/// The named chats of `user`, as (name, id). Names are compared in Rust: Postgres' `lower()` under
/// the C locale folds ASCII only.
pub async fn named_chats(
    db: impl PgExecutor<'_>,
    user: UserId,
) -> Result<Vec<(String, ChatId)>, sqlx::Error> {
    timed(
        "search.named_chats",
        sqlx::query_as(
            "SELECT c.name, c.id FROM chats c
             JOIN chat_members m ON m.chat_id = c.id AND m.user_id = $1
             WHERE c.name IS NOT NULL",
        )
        .bind(user)
        .fetch_all(db),
    )
    .await
}
