//! Ending sessions, everywhere: the revocation is committed with a `session.revoked` event in the
//! outbox (so notify, analytics and the WebSocket learn of it through JetStream) and a cache
//! invalidation announcement (so every fechatter instance drops its cached session), in the
//! transaction of the change that ends the session.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use chrono::Utc;
use fechatter_events::Event as DomainEvent;
use fechatter_events::payload::{RevocationReason, SessionRevoked};
use fechatter_events::{UserId, WorkspaceId};
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::auth::SigninThrottle;
use crate::config::AuthSettings;
use crate::db::Migrated;
use crate::deps::Deps;
use crate::error::AppError;
use crate::repo;
use crate::repo::invalidations::Stale;
use crate::repo::sessions::SessionState;
use crate::service::events::{self, Event};

/// Whose session it is.
#[derive(Debug, Clone, Copy)]
pub struct Owner {
    pub user: UserId,
    pub workspace: WorkspaceId,
}

/// Records, in the caller's transaction, that `session` ended for `reason`.
pub async fn revoke(
    conn: &mut PgConnection,
    session: Uuid,
    owner: Owner,
    reason: RevocationReason,
) -> Result<(), AppError> {
    repo::sessions::revoke(&mut *conn, session).await?;
    announce(conn, session, owner, reason).await
}

/// The event and the invalidation of a session already marked revoked in this transaction.
pub async fn announce(
    conn: &mut PgConnection,
    session: Uuid,
    owner: Owner,
    reason: RevocationReason,
) -> Result<(), AppError> {
    repo::invalidations::announce(&mut *conn, Stale::Session(session)).await?;
    events::record(
        &mut *conn,
        Event {
            workspace_id: owner.workspace,
            chat_id: None,
            actor_id: Some(owner.user),
            recipients: vec![owner.user],
            event: DomainEvent::SessionRevoked(SessionRevoked {
                session_id: session,
                user_id: owner.user,
                reason,
            }),
        },
    )
    .await?;
    Ok(())
}

/// After the commit: this instance refuses the session's tokens at once; the others follow when
/// the announcement reaches them.
pub async fn forget(deps: &Deps, session: Uuid, user: UserId) {
    deps.caches()
        .sessions
        .insert(
            session,
            SessionState {
                user_id: user,
                revoked: true,
                created_at: Utc::now(),
            },
        )
        .await;
}

/// Deletes ended sessions and expired refresh tokens every `prune_interval` until shutdown.
pub async fn prune_periodically<S>(state: S, shutdown: CancellationToken)
where
    Deps: FromRef<S>,
    Arc<SigninThrottle>: FromRef<S>,
    Migrated: FromRef<S>,
{
    let deps = Deps::from_ref(&state);
    let throttle = Arc::<SigninThrottle>::from_ref(&state);
    let migrated = Migrated::from_ref(&state);
    let settings = &deps.config().auth;
    let mut tick = tokio::time::interval(settings.prune_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        throttle.sweep();
        if !migrated.is_set() {
            continue;
        }
        match prune(deps.pool(), settings).await {
            Ok((sessions, tokens)) if sessions + tokens > 0 => {
                tracing::info!(sessions, refresh_tokens = tokens, "pruned ended sessions");
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "pruning sessions failed; retrying later"),
        }
    }
}

/// A revoked session is kept this long (its access tokens have all expired by then).
const REVOKED_SESSIONS_KEPT: Duration = Duration::from_secs(24 * 3600);

/// Deletes sessions past their lifetime or revoked a day ago, and expired refresh tokens; how many
/// of each.
pub async fn prune(pool: &PgPool, settings: &AuthSettings) -> Result<(u64, u64), AppError> {
    let lifetime =
        chrono::Duration::from_std(settings.session_lifetime).map_err(AppError::internal)?;
    let kept = chrono::Duration::from_std(REVOKED_SESSIONS_KEPT.max(settings.tokens.ttl()))
        .map_err(AppError::internal)?;
    let now = Utc::now();
    let sessions = repo::sessions::prune(pool, now - lifetime, now - kept).await?;
    let tokens = repo::sessions::prune_refresh_tokens(pool).await?;
    Ok((sessions, tokens))
}
