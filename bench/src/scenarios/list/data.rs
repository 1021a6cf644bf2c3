//! The list scenario's data: chats of messages and one long chat, written with set-based SQL,
//! and the plan Postgres uses for the deep page.

use sqlx::PgPool;

use crate::{Setup, seed};

pub struct Seeding {
    pub chats: Vec<i64>,
    /// The first message id of chat 0: chat `k`'s messages are the next `messages_per_chat`
    /// ids from `first_message + k * messages_per_chat`.
    pub first_message: i64,
    pub deep_chat: i64,
    /// The id of the message at rank `list_depth` (newest first) of the deep chat.
    pub deep_before: i64,
    /// (first-page path, token) of every user.
    pub first: Vec<(String, String)>,
    /// Tokens of the long chat's members.
    pub deep_tokens: Vec<String>,
}

/// The long chat's length: the page at `list_depth` has older pages after it, so it measures
/// how deep the page is, not how the last page's look-ahead for a next one goes.
pub fn long_chat_length(setup: &Setup) -> i64 {
    setup.scale.list_depth + 1000
}

pub async fn seed(setup: &Setup, pool: &PgPool) -> anyhow::Result<Seeding> {
    let scale = &setup.scale;
    let seeded = seed::chats(pool, &setup.keys, scale.chats, scale.chat_size).await?;
    for (k, chat) in seeded.chats.iter().enumerate() {
        let sender = seeded.users[k * scale.chat_size].id;
        seed::messages(pool, *chat, sender, scale.messages_per_chat).await?;
    }
    let starts: Vec<i64> = sqlx::query_scalar(
        "SELECT min(id) FROM messages WHERE chat_id = ANY($1) GROUP BY chat_id ORDER BY chat_id",
    )
    .bind(&seeded.chats)
    .fetch_all(pool)
    .await?;
    let first_message = starts.first().copied().unwrap_or_default();
    let contiguous = starts
        .iter()
        .enumerate()
        .all(|(k, start)| *start == first_message + k as i64 * scale.messages_per_chat);
    anyhow::ensure!(contiguous, "seeded message ids are not contiguous per chat");
    let deep_chat = seed::extra_chat(pool, &seeded, scale.chat_size).await?;
    seed::messages(pool, deep_chat, seeded.users[0].id, long_chat_length(setup)).await?;
    seed::analyze(pool).await?;
    let deep_before: i64 = sqlx::query_scalar(
        "SELECT id FROM messages WHERE chat_id = $1 ORDER BY id DESC OFFSET $2 LIMIT 1",
    )
    .bind(deep_chat)
    .bind(scale.list_depth - 1)
    .fetch_one(pool)
    .await?;
    Ok(Seeding {
        first: seeded
            .users
            .iter()
            .map(|u| {
                (
                    format!("/api/chats/{}/messages?limit=50", u.chat),
                    u.token.clone(),
                )
            })
            .collect(),
        deep_tokens: seeded.users[..scale.chat_size]
            .iter()
            .map(|u| u.token.clone())
            .collect(),
        chats: seeded.chats,
        first_message,
        deep_chat,
        deep_before,
    })
}

/// How Postgres runs the deep page once the statement's plan is cached (generic), as it is for
/// the service's prepared statement after five executions.
pub async fn generic_plan(pool: &PgPool, chat: i64, before: i64) -> anyhow::Result<String> {
    let mut conn = pool.acquire().await?;
    sqlx::query("SET plan_cache_mode = force_generic_plan")
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "PREPARE deep_page(bigint, bigint, bigint) AS
         SELECT id, chat_id, sender_id, content, reply_to, created_at, edited_at, deleted_at
         FROM messages WHERE chat_id = $1 AND deleted_at IS NULL AND id < $2
         ORDER BY id DESC LIMIT $3",
    )
    .execute(&mut *conn)
    .await?;
    let lines: Vec<String> = sqlx::query_scalar(&format!(
        "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) EXECUTE deep_page({chat}, {before}, 51)"
    ))
    .fetch_all(&mut *conn)
    .await?;
    sqlx::query("DEALLOCATE deep_page")
        .execute(&mut *conn)
        .await?;
    Ok(lines
        .iter()
        .map(|line| line.trim())
        .collect::<Vec<_>>()
        .join("; "))
}
