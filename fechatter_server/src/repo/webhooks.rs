//! Incoming and outgoing webhooks (`incoming_webhooks`, `outgoing_webhooks`).

use fechatter_events::{ChatId, UserId, WorkspaceId};
use sqlx::PgExecutor;

use crate::db::timed;
use crate::models::webhook::{IncomingWebhook, OutgoingWebhook};

const INCOMING: &str = "id, chat_id, name, created_by, created_at";
const OUTGOING: &str = "id, chat_id, url, created_by, created_at";

pub async fn insert_incoming(
    db: impl PgExecutor<'_>,
    chat: ChatId,
    name: &str,
    token_hash: &[u8],
    by: UserId,
) -> Result<IncomingWebhook, sqlx::Error> {
    let sql = format!(
        "INSERT INTO incoming_webhooks (chat_id, name, token_hash, created_by)
         VALUES ($1, $2, $3, $4) RETURNING {INCOMING}"
    );
    timed(
        "webhooks.insert_incoming",
        sqlx::query_as::<_, IncomingWebhook>(&sql)
            .bind(chat)
            .bind(name)
            .bind(token_hash)
            .bind(by)
            .fetch_one(db),
    )
    .await
}

/// Where an incoming webhook posts.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct HookTarget {
    pub id: i64,
    pub chat_id: ChatId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub created_by: UserId,
}

/// The active incoming webhook whose token has this hash.
pub async fn incoming_by_token(
    db: impl PgExecutor<'_>,
    token_hash: &[u8],
) -> Result<Option<HookTarget>, sqlx::Error> {
    timed(
        "webhooks.incoming_by_token",
        sqlx::query_as::<_, HookTarget>(
            "SELECT w.id, w.chat_id, c.workspace_id, w.name, w.created_by
             FROM incoming_webhooks w JOIN chats c ON c.id = w.chat_id
             WHERE w.token_hash = $1 AND w.revoked_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(db),
    )
    .await
}

pub async fn incoming_of_chat(
    db: impl PgExecutor<'_>,
    chat: ChatId,
) -> Result<Vec<IncomingWebhook>, sqlx::Error> {
    let sql = format!(
        "SELECT {INCOMING} FROM incoming_webhooks WHERE chat_id = $1 AND revoked_at IS NULL
         ORDER BY id"
    );
    timed(
        "webhooks.incoming_of_chat",
        sqlx::query_as::<_, IncomingWebhook>(&sql)
            .bind(chat)
            .fetch_all(db),
    )
    .await
}

pub async fn insert_outgoing(
    db: impl PgExecutor<'_>,
    chat: ChatId,
    url: &str,
    secret: &str,
    by: UserId,
) -> Result<OutgoingWebhook, sqlx::Error> {
    let sql = format!(
        "INSERT INTO outgoing_webhooks (chat_id, url, secret, created_by)
         VALUES ($1, $2, $3, $4) RETURNING {OUTGOING}"
    );
    timed(
        "webhooks.insert_outgoing",
        sqlx::query_as::<_, OutgoingWebhook>(&sql)
            .bind(chat)
            .bind(url)
            .bind(secret)
            .bind(by)
            .fetch_one(db),
    )
    .await
}

pub async fn outgoing_of_chat(
    db: impl PgExecutor<'_>,
    chat: ChatId,
) -> Result<Vec<OutgoingWebhook>, sqlx::Error> {
    let sql = format!(
        "SELECT {OUTGOING} FROM outgoing_webhooks WHERE chat_id = $1 AND revoked_at IS NULL
         ORDER BY id"
    );
    timed(
        "webhooks.outgoing_of_chat",
        sqlx::query_as::<_, OutgoingWebhook>(&sql)
            .bind(chat)
            .fetch_all(db),
    )
    .await
}

/// Whether `id` is an outgoing webhook of `chat` (revoked or not: its log stays readable).
pub async fn outgoing_exists(
    db: impl PgExecutor<'_>,
    chat: ChatId,
    id: i64,
) -> Result<bool, sqlx::Error> {
    timed(
        "webhooks.outgoing_exists",
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM outgoing_webhooks WHERE id = $1 AND chat_id = $2)",
        )
        .bind(id)
        .bind(chat)
        .fetch_one(db),
    )
    .await
}

/// Active webhooks of the chat, incoming and outgoing together (the per-chat limit counts both).
pub async fn count_active(db: impl PgExecutor<'_>, chat: ChatId) -> Result<i64, sqlx::Error> {
    timed(
        "webhooks.count_active",
        sqlx::query_scalar(
            "SELECT (SELECT count(*) FROM incoming_webhooks WHERE chat_id = $1 AND revoked_at IS NULL)
                  + (SELECT count(*) FROM outgoing_webhooks WHERE chat_id = $1 AND revoked_at IS NULL)",
        )
        .bind(chat)
        .fetch_one(db),
    )
    .await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Incoming,
    Outgoing,
}

/// Revokes an active webhook of the chat; false when there is none with that id.
pub async fn revoke(
    db: impl PgExecutor<'_>,
    direction: Direction,
    chat: ChatId,
    id: i64,
) -> Result<bool, sqlx::Error> {
    let sql = match direction {
        Direction::Incoming => {
            "UPDATE incoming_webhooks SET revoked_at = now()
             WHERE id = $1 AND chat_id = $2 AND revoked_at IS NULL"
        }
        Direction::Outgoing => {
            "UPDATE outgoing_webhooks SET revoked_at = now()
             WHERE id = $1 AND chat_id = $2 AND revoked_at IS NULL"
        }
    };
    timed(
        "webhooks.revoke",
        sqlx::query(sql).bind(id).bind(chat).execute(db),
    )
    .await
    .map(|done| done.rows_affected() > 0)
}
