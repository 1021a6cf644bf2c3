//! User statuses (`user_statuses`). An expired status reads as none.

use fechatter_events::{UserId, WorkspaceId};
use sqlx::PgExecutor;

use crate::db::timed;
use crate::models::user::UserStatus;

/// Sets the user's status, replacing any earlier one.
pub async fn upsert(
    db: impl PgExecutor<'_>,
    user: UserId,
    status: &UserStatus,
) -> Result<(), sqlx::Error> {
    timed(
        "statuses.upsert",
        sqlx::query(
            "INSERT INTO user_statuses (user_id, availability, text, expires_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (user_id) DO UPDATE SET availability = $2, text = $3,
                 expires_at = $4, updated_at = now()",
        )
        .bind(user)
        .bind(status.availability)
        .bind(&status.text)
        .bind(status.expires_at)
        .execute(db),
    )
    .await
    .map(|_| ())
}

/// Clears the user's status; whether one was in force (set and not expired).
pub async fn delete(db: impl PgExecutor<'_>, user: UserId) -> Result<bool, sqlx::Error> {
    timed(
        "statuses.delete",
        sqlx::query_scalar::<_, bool>(
            "DELETE FROM user_statuses WHERE user_id = $1
             RETURNING expires_at IS NULL OR expires_at > now()",
        )
        .bind(user)
        .fetch_optional(db),
    )
    .await
    .map(|live| live.unwrap_or(false))
}

/// The statuses in force of these users.
pub async fn of_users(
    db: impl PgExecutor<'_>,
    users: &[UserId],
) -> Result<Vec<(UserId, UserStatus)>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        user_id: UserId,
        #[sqlx(flatten)]
        status: UserStatus,
    }
    let rows = timed(
        "statuses.of_users",
        sqlx::query_as::<_, Row>(
            "SELECT user_id, availability, text, expires_at FROM user_statuses
             WHERE user_id = ANY ($1) AND (expires_at IS NULL OR expires_at > now())",
        )
        .bind(users)
        .fetch_all(db),
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.user_id, row.status))
        .collect())
}

/// Those of `users` in do-not-disturb now.
pub async fn in_dnd(db: impl PgExecutor<'_>, users: &[UserId]) -> Result<Vec<UserId>, sqlx::Error> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    timed(
        "statuses.in_dnd",
        sqlx::query_scalar(
            "SELECT user_id FROM user_statuses
             WHERE user_id = ANY ($1) AND availability = 'dnd'
               AND (expires_at IS NULL OR expires_at > now())
             ORDER BY user_id",
        )
        .bind(users)
        .fetch_all(db),
    )
    .await
}

/// Every user of the workspace: who hears of a status change.
pub async fn workspace_users(
    db: impl PgExecutor<'_>,
    workspace: WorkspaceId,
) -> Result<Vec<UserId>, sqlx::Error> {
    timed(
        "statuses.workspace_users",
        sqlx::query_scalar("SELECT id FROM users WHERE workspace_id = $1 ORDER BY id")
            .bind(workspace)
            .fetch_all(db),
    )
    .await
}
