//! The assistant's user in each workspace (`users.is_bot`, handle `bot`), read only: fechatter_server
//! owns `users` and creates a bot when this service asks (`POST /api/bots/provision`).

use fechatter_events::{UserId, WorkspaceId};
use sqlx::PgExecutor;

use crate::db::timed;

/// The handle `@bot` mentions match; fechatter_server keeps it from humans.
pub const HANDLE: &str = "bot";

/// The workspaces that have no bot yet (fechatter_server creates them when asked).
pub async fn workspaces_without_bot(
    db: impl PgExecutor<'_>,
) -> Result<Vec<WorkspaceId>, sqlx::Error> {
    timed(
        "bots.workspaces_without_bot",
        sqlx::query_scalar(
            "SELECT w.id FROM workspaces w
             WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.workspace_id = w.id AND u.is_bot)
             ORDER BY w.id",
        )
        .fetch_all(db),
    )
    .await
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
