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
    /// Sign-in time: the session ends a fixed lifetime after it.
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, FromRow)]
pub struct RefreshTokenRow {
    pub id: i64,
    pub session_id: Uuid,
    pub user_id: UserId,
    pub expires_at: DateTime<Utc>,
    pub rotated: bool,
    pub session_revoked: bool,
    pub session_created_at: DateTime<Utc>,
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
            "SELECT user_id, revoked_at IS NOT NULL AS revoked, created_at FROM sessions WHERE id = $1",
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

/// Revokes every open session of `user`; the ids revoked.
pub async fn revoke_all(db: impl PgExecutor<'_>, user: UserId) -> Result<Vec<Uuid>, sqlx::Error> {
    timed(
        "sessions.revoke_all",
        sqlx::query_scalar(
            "UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL
             RETURNING id",
        )
        .bind(user)
        .fetch_all(db),
    )
    .await
}

/// The id of the newest open session of `user` begun after `started_after`.
pub async fn newest_open_id(
    db: impl PgExecutor<'_>,
    user: UserId,
    started_after: DateTime<Utc>,
) -> Result<Option<(Uuid, DateTime<Utc>)>, sqlx::Error> {
    timed(
        "sessions.newest_open",
        sqlx::query_as::<_, (Uuid, DateTime<Utc>)>(
            "SELECT id, created_at FROM sessions
             WHERE user_id = $1 AND revoked_at IS NULL AND created_at > $2
             ORDER BY created_at DESC LIMIT 1",
        )
        .bind(user)
        .bind(started_after)
        .fetch_optional(db),
    )
    .await
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
                    rt.rotated_at IS NOT NULL AS rotated, s.revoked_at IS NOT NULL AS session_revoked,
                    s.created_at AS session_created_at
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

/// Deletes refresh tokens past their expiry (a spent one stays until then, so its reuse is still
/// recognised and revokes its session); how many.
pub async fn prune_refresh_tokens(db: impl PgExecutor<'_>) -> Result<u64, sqlx::Error> {
    timed(
        "refresh_tokens.prune",
        sqlx::query("DELETE FROM refresh_tokens WHERE expires_at < now()").execute(db),
    )
    .await
    .map(|done| done.rows_affected())
}

/// Deletes sessions that began before `started_before` (past their lifetime) or were revoked
/// before `revoked_before` (their access tokens have expired), with their refresh tokens; how many.
/// A deleted session's tokens are refused like a revoked one's: the check finds no session.
pub async fn prune(
    db: impl PgExecutor<'_>,
    started_before: DateTime<Utc>,
    revoked_before: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    timed(
        "sessions.prune",
        sqlx::query("DELETE FROM sessions WHERE created_at < $1 OR revoked_at < $2")
            .bind(started_before)
            .bind(revoked_before)
            .execute(db),
    )
    .await
    .map(|done| done.rows_affected())
}
