use chrono::{DateTime, Utc};
use fechatter_events::UserId;
use sqlx::{FromRow, PgExecutor};
use uuid::Uuid;

use crate::db::timed;

/// What the access-token check needs to know about a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromRow)]
pub struct SessionState {
    pub user_id: UserId,
    pub revoked: bool,
}

#[derive(Debug, Clone, FromRow)]
pub struct RefreshTokenRow {
    pub id: i64,
    pub session_id: Uuid,
    pub user_id: UserId,
    pub expires_at: DateTime<Utc>,
    pub rotated: bool,
    pub session_revoked: bool,
}

pub async fn insert(db: impl PgExecutor<'_>, id: Uuid, user: UserId) -> Result<(), sqlx::Error> {
    timed(
        "sessions.insert",
        sqlx::query("INSERT INTO sessions (id, user_id) VALUES ($1, $2)")
            .bind(id)
            .bind(user)
            .execute(db),
    )
    .await
    .map(|_| ())
}

pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<SessionState>, sqlx::Error> {
    timed(
        "sessions.find",
        sqlx::query_as::<_, SessionState>(
            "SELECT user_id, revoked_at IS NOT NULL AS revoked FROM sessions WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(db),
    )
    .await
}

/// Revokes the session; false when it was already revoked or does not exist.
pub async fn revoke(db: impl PgExecutor<'_>, id: Uuid) -> Result<bool, sqlx::Error> {
    timed(
        "sessions.revoke",
        sqlx::query("UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .execute(db),
    )
    .await
    .map(|done| done.rows_affected() > 0)
}

pub async fn insert_refresh_token(
    db: impl PgExecutor<'_>,
    session: Uuid,
    token_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    timed(
        "refresh_tokens.insert",
        sqlx::query(
            "INSERT INTO refresh_tokens (session_id, token_hash, expires_at) VALUES ($1, $2, $3)",
        )
        .bind(session)
        .bind(token_hash)
        .bind(expires_at)
        .execute(db),
    )
    .await
    .map(|_| ())
}

/// The refresh token with this hash, locked until the transaction ends so two refreshes with the
/// same token cannot both succeed.
pub async fn lock_refresh_token(
    db: impl PgExecutor<'_>,
    token_hash: &[u8],
) -> Result<Option<RefreshTokenRow>, sqlx::Error> {
    timed(
        "refresh_tokens.lock",
        sqlx::query_as::<_, RefreshTokenRow>(
            "SELECT rt.id, rt.session_id, s.user_id, rt.expires_at,
                    rt.rotated_at IS NOT NULL AS rotated, s.revoked_at IS NOT NULL AS session_revoked
             FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id
             WHERE rt.token_hash = $1
             FOR UPDATE OF rt",
        )
        .bind(token_hash)
        .fetch_optional(db),
    )
    .await
}

pub async fn mark_rotated(db: impl PgExecutor<'_>, id: i64) -> Result<(), sqlx::Error> {
    timed(
        "refresh_tokens.rotate",
        sqlx::query("UPDATE refresh_tokens SET rotated_at = now() WHERE id = $1")
            .bind(id)
            .execute(db),
    )
    .await
    .map(|_| ())
}
