//! Threads (`message_threads`, `thread_followers`, `messages.thread_root_id`).

use chrono::{DateTime, Utc};
use fechatter_events::{ChatId, MessageId, UserId};
use sqlx::PgExecutor;

use crate::db::timed;
use crate::models::PageRequest;
use crate::models::message::MessageRow;
use crate::models::thread::{FollowedThreadRow, ThreadSummary};

const SUMMARY_COLUMNS: &str = "root_id, chat_id, reply_count, last_reply_id, last_reply_at";

/// The root of the thread a reply to `message` joins: the message's own root, or the message.
/// `None` when `message` is not a message of `chat`.
pub async fn root_for_reply(
    db: impl PgExecutor<'_>,
    chat: ChatId,
    message: MessageId,
) -> Result<Option<MessageId>, sqlx::Error> {
    timed(
        "threads.root_for_reply",
        sqlx::query_scalar(
            "SELECT COALESCE(thread_root_id, id) FROM messages WHERE id = $1 AND chat_id = $2",
        )
        .bind(message)
        .bind(chat)
        .fetch_optional(db),
    )
    .await
}

/// Counts a new reply into its thread's summary.
pub async fn add_reply(
    db: impl PgExecutor<'_>,
    chat: ChatId,
    root: MessageId,
    reply: MessageId,
    at: DateTime<Utc>,
) -> Result<ThreadSummary, sqlx::Error> {
    let sql = format!(
        "INSERT INTO message_threads (root_id, chat_id, reply_count, last_reply_id, last_reply_at)
         VALUES ($1, $2, 1, $3, $4)
         ON CONFLICT (root_id) DO UPDATE SET reply_count = message_threads.reply_count + 1,
             last_reply_id = GREATEST(message_threads.last_reply_id, EXCLUDED.last_reply_id),
             last_reply_at = GREATEST(message_threads.last_reply_at, EXCLUDED.last_reply_at)
         RETURNING {SUMMARY_COLUMNS}"
    );
    timed(
        "threads.add_reply",
        sqlx::query_as::<_, ThreadSummary>(&sql)
            .bind(root)
            .bind(chat)
            .bind(reply)
            .bind(at)
            .fetch_one(db),
    )
    .await
}

/// Recounts a thread from its live replies (after one was deleted); `None` when none is left,
/// and then the thread has no summary row.
pub async fn recount(
    db: &mut sqlx::PgConnection,
    root: MessageId,
) -> Result<Option<ThreadSummary>, sqlx::Error> {
    let sql = format!(
        "WITH live AS (
             SELECT count(*) AS n, max(id) AS last_id, max(created_at) AS last_at
             FROM messages WHERE thread_root_id = $1 AND deleted_at IS NULL
         )
         UPDATE message_threads t
         SET reply_count = live.n, last_reply_id = live.last_id, last_reply_at = live.last_at
         FROM live WHERE t.root_id = $1 AND live.n > 0
         RETURNING {SUMMARY_COLUMNS}"
    );
    let summary = timed(
        "threads.recount",
        sqlx::query_as::<_, ThreadSummary>(&sql)
            .bind(root)
            .fetch_optional(&mut *db),
    )
    .await?;
    if summary.is_none() {
        timed(
            "threads.delete",
            sqlx::query("DELETE FROM message_threads WHERE root_id = $1")
                .bind(root)
                .execute(db),
        )
        .await?;
    }
    Ok(summary)
}

/// The summaries of those of `roots` that have replies.
pub async fn summaries(
    db: impl PgExecutor<'_>,
    roots: &[MessageId],
) -> Result<Vec<ThreadSummary>, sqlx::Error> {
    let sql = format!("SELECT {SUMMARY_COLUMNS} FROM message_threads WHERE root_id = ANY($1)");
    timed(
        "threads.summaries",
        sqlx::query_as::<_, ThreadSummary>(&sql)
            .bind(roots)
            .fetch_all(db),
    )
    .await
}

/// Makes `users` follow the thread (those already following keep their read marker).
pub async fn follow(
    db: impl PgExecutor<'_>,
    chat: ChatId,
    root: MessageId,
    users: &[UserId],
) -> Result<(), sqlx::Error> {
    if users.is_empty() {
        return Ok(());
    }
    timed(
        "threads.follow",
        sqlx::query(
            "INSERT INTO thread_followers (root_id, user_id, chat_id)
             SELECT $1, unnest($2::bigint[]), $3 ON CONFLICT DO NOTHING",
        )
        .bind(root)
        .bind(users)
        .bind(chat)
        .execute(db),
    )
    .await
    .map(|_| ())
}

/// The thread's followers.
pub async fn followers(
    db: impl PgExecutor<'_>,
    root: MessageId,
) -> Result<Vec<UserId>, sqlx::Error> {
    timed(
        "threads.followers",
        sqlx::query_scalar(
            "SELECT user_id FROM thread_followers WHERE root_id = $1 ORDER BY user_id",
        )
        .bind(root)
        .fetch_all(db),
    )
    .await
}

/// Moves a follower's read marker forward to `reply`; the new marker, `None` when it did not
/// move (already there or further, or `user` does not follow the thread).
pub async fn advance_read(
    db: impl PgExecutor<'_>,
    root: MessageId,
    user: UserId,
    reply: MessageId,
) -> Result<Option<MessageId>, sqlx::Error> {
    timed(
        "threads.advance_read",
        sqlx::query_scalar(
            "UPDATE thread_followers SET last_read_reply_id = $3
             WHERE root_id = $1 AND user_id = $2
               AND (last_read_reply_id IS NULL OR last_read_reply_id < $3)
             RETURNING last_read_reply_id",
        )
        .bind(root)
        .bind(user)
        .bind(reply)
        .fetch_optional(db),
    )
    .await
}

/// A follower's read marker and how many replies from others they have not read; `None` when
/// `user` does not follow the thread.
pub async fn read_state(
    db: impl PgExecutor<'_>,
    root: MessageId,
    user: UserId,
) -> Result<Option<(Option<MessageId>, i64)>, sqlx::Error> {
    timed(
        "threads.read_state",
        sqlx::query_as(
            "SELECT f.last_read_reply_id, (SELECT count(*) FROM messages r
                     WHERE r.thread_root_id = f.root_id AND r.id > COALESCE(f.last_read_reply_id, 0)
                       AND r.sender_id <> f.user_id AND r.deleted_at IS NULL)
             FROM thread_followers f WHERE f.root_id = $1 AND f.user_id = $2",
        )
        .bind(root)
        .bind(user)
        .fetch_optional(db),
    )
    .await
}

/// A page of the thread's live replies, newest first (keyset on the reply id, as message pages).
pub async fn replies(
    db: impl PgExecutor<'_>,
    root: MessageId,
    page: PageRequest,
) -> Result<Vec<MessageRow>, sqlx::Error> {
    timed(
        "threads.replies",
        sqlx::query_as::<_, MessageRow>(
            "SELECT id, chat_id, sender_id, content, reply_to, thread_root_id, integration, created_at,
                    edited_at, deleted_at
             FROM messages
             WHERE thread_root_id = $1 AND deleted_at IS NULL AND id < $2
             ORDER BY id DESC LIMIT $3",
        )
        .bind(root)
        .bind(page.before.unwrap_or(i64::MAX))
        .bind(page.fetch_limit())
        .fetch_all(db),
    )
    .await
}

/// A page of the threads `user` follows in chats they are a member of, the latest reply first
/// (keyset on the latest reply's id).
pub async fn followed(
    db: impl PgExecutor<'_>,
    user: UserId,
    page: PageRequest,
) -> Result<Vec<FollowedThreadRow>, sqlx::Error> {
    timed(
        "threads.followed",
        sqlx::query_as::<_, FollowedThreadRow>(
            "SELECT t.root_id, t.chat_id, t.reply_count, t.last_reply_id, t.last_reply_at,
                    f.last_read_reply_id,
                    (SELECT count(*) FROM messages r
                     WHERE r.thread_root_id = f.root_id AND r.id > COALESCE(f.last_read_reply_id, 0)
                       AND r.sender_id <> f.user_id AND r.deleted_at IS NULL) AS unread_count
             FROM thread_followers f
             JOIN message_threads t ON t.root_id = f.root_id
             JOIN chat_members cm ON cm.chat_id = f.chat_id AND cm.user_id = f.user_id
             WHERE f.user_id = $1 AND t.last_reply_id < $2
             ORDER BY t.last_reply_id DESC LIMIT $3",
        )
        .bind(user)
        .bind(page.before.unwrap_or(i64::MAX))
        .bind(page.fetch_limit())
        .fetch_all(db),
    )
    .await
}

/// The live messages among `ids` (the roots of a page of threads).
pub async fn live_roots(
    db: impl PgExecutor<'_>,
    ids: &[MessageId],
) -> Result<Vec<MessageRow>, sqlx::Error> {
    timed(
        "threads.live_roots",
        sqlx::query_as::<_, MessageRow>(
            "SELECT id, chat_id, sender_id, content, reply_to, thread_root_id, integration, created_at,
                    edited_at, deleted_at
             FROM messages WHERE id = ANY($1) AND deleted_at IS NULL",
        )
        .bind(ids)
        .fetch_all(db),
    )
    .await
}

/// Who wrote a message (a thread's root).
pub async fn author(
    db: impl PgExecutor<'_>,
    message: MessageId,
) -> Result<Option<UserId>, sqlx::Error> {
    timed(
        "threads.author",
        sqlx::query_scalar("SELECT sender_id FROM messages WHERE id = $1")
            .bind(message)
            .fetch_optional(db),
    )
    .await
}
