use chrono::{DateTime, Utc};
use fechatter_events::{UserId, WorkspaceId};
use sqlx::PgExecutor;

use crate::db::timed;

pub async fn insert(
    db: impl PgExecutor<'_>,
    workspace: WorkspaceId,
    code_hash: &[u8],
    created_by: UserId,
    max_uses: i32,
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    timed(
        "invites.insert",
        sqlx::query(
            "INSERT INTO invites (workspace_id, code_hash, created_by, max_uses, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(workspace)
        .bind(code_hash)
        .bind(created_by)
        .bind(max_uses)
        .bind(expires_at)
        .execute(db),
    )
    .await
    .map(|_| ())
}

/// Uses the invite once if it is still valid; its workspace, or `None` when it is unknown, expired
/// or used up.
pub async fn redeem(
    db: impl PgExecutor<'_>,
    code_hash: &[u8],
) -> Result<Option<WorkspaceId>, sqlx::Error> {
    timed(
        "invites.redeem",
        sqlx::query_scalar(
            "UPDATE invites SET uses = uses + 1
             WHERE code_hash = $1 AND expires_at > now() AND uses < max_uses
             RETURNING workspace_id",
        )
        .bind(code_hash)
        .fetch_optional(db),
    )
    .await
}
