//! The assistant's user in each workspace (`users.is_bot`, handle `bot`). The chat API never
//! creates bot users: this service does, and gets their access tokens from the chat API.

use fechatter_events::{UserId, WorkspaceId};
use sqlx::PgExecutor;

use crate::db::timed;

/// The handle `@bot` mentions match; fechatter_server keeps it from humans.
pub const HANDLE: &str = "bot";
pub const FULLNAME: &str = "Assistant";

/// Creates the workspace's bot unless it has one (at most one per workspace: a unique index).
pub async fn create(db: impl PgExecutor<'_>, workspace: WorkspaceId) -> Result<(), sqlx::Error> {
    timed(
        "bots.create",
        sqlx::query(
            "INSERT INTO users (workspace_id, fullname, handle, is_bot)
             VALUES ($1, $2, $3, true) ON CONFLICT DO NOTHING",
        )
        .bind(workspace)
        .bind(FULLNAME)
        .bind(HANDLE)
        .execute(db),
    )
    .await
    .map(|_| ())
}

/// Creates the bot of every workspace that has none; how many were created.
pub async fn create_missing(db: impl PgExecutor<'_>) -> Result<u64, sqlx::Error> {
    timed(
        "bots.create_missing",
        sqlx::query(
            "INSERT INTO users (workspace_id, fullname, handle, is_bot)
             SELECT w.id, $1, $2, true FROM workspaces w
             WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.workspace_id = w.id AND u.is_bot)
             ON CONFLICT DO NOTHING",
        )
        .bind(FULLNAME)
        .bind(HANDLE)
        .execute(db),
    )
    .await
    .map(|done| done.rows_affected())
}

pub async fn find(
    db: impl PgExecutor<'_>,
    workspace: WorkspaceId,
) -> Result<Option<UserId>, sqlx::Error> {
    timed(
        "bots.find",
        sqlx::query_scalar("SELECT id FROM users WHERE workspace_id = $1 AND is_bot")
            .bind(workspace)
            .fetch_optional(db),
    )
    .await
}
