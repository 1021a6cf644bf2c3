//! The workspace assistant bots (users with `is_bot`), which bot_server creates.

use fechatter_events::{UserId, WorkspaceId};
use sqlx::PgExecutor;

use crate::db::timed;
use crate::models::User;

/// Those of `ids` that are bots.
pub async fn among(db: impl PgExecutor<'_>, ids: &[UserId]) -> Result<Vec<UserId>, sqlx::Error> {
    timed(
        "users.bots_among",
        sqlx::query_scalar("SELECT id FROM users WHERE id = ANY($1) AND is_bot ORDER BY id")
            .bind(ids)
            .fetch_all(db),
    )
    .await
}

/// The workspace's assistant bot, which bot_server creates.
pub async fn of_workspace(
    db: impl PgExecutor<'_>,
    workspace: WorkspaceId,
) -> Result<Option<User>, sqlx::Error> {
    timed(
        "users.bot_of_workspace",
        sqlx::query_as::<_, User>(
            "SELECT id, workspace_id, fullname, handle, email, is_bot, workspace_role, created_at
             FROM users WHERE workspace_id = $1 AND is_bot",
        )
        .bind(workspace)
        .fetch_optional(db),
    )
    .await
}
