use std::time::Duration;

use axum::extract::{FromRef, FromRequestParts};
use chrono::Utc;
use fechatter_auth::{bearer_token, bearer_token_or_query};
use fechatter_events::{UserId, WorkspaceId};
use http::request::Parts;
use uuid::Uuid;

use crate::deps::Deps;
use crate::error::AppError;
use crate::repo;
use crate::repo::sessions::SessionState;

/// The one route whose token may come in the query: browsers cannot set headers on a WebSocket.
pub const WEBSOCKET_ROUTE: &str = "/api/ws";

/// The authenticated caller: a valid access token whose session is still open.
///
/// The session check is what makes sign-out, refresh-token reuse and account removal end access
/// tokens before they expire; it is served from the session cache, which this instance updates on
/// revocation and other instances' announcements invalidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurrentUser {
    pub id: UserId,
    pub workspace_id: WorkspaceId,
    pub session_id: Uuid,
    /// When the access token expires (Unix seconds); long-lived connections end then.
    pub expires_at: i64,
}

/// Whether `session` still lets `user` in: not revoked, theirs, and within its lifetime.
pub fn session_is_open(session: &SessionState, user: UserId, lifetime: Duration) -> bool {
    let lifetime = chrono::Duration::from_std(lifetime).unwrap_or(chrono::Duration::MAX);
    !session.revoked && session.user_id == user && session.created_at + lifetime > Utc::now()
}

impl CurrentUser {
    /// Whether the caller's session is still open (long-lived connections re-check it).
    pub async fn ensure_signed_in(&self, deps: &Deps) -> Result<(), AppError> {
        let session = deps
            .caches()
            .sessions
            .get_or_load(self.session_id, || {
                repo::sessions::find(deps.pool(), self.session_id)
            })
            .await?;
        let lifetime = deps.config().auth.session_lifetime;
        match session {
            Some(session) if session_is_open(&session, self.id, lifetime) => Ok(()),
            _ => Err(AppError::SessionRevoked),
        }
    }
}

impl<S> FromRequestParts<S> for CurrentUser
where
    S: Send + Sync,
    Deps: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        // A rate-limited route authenticated the caller already (`crate::rate_limit::admit`).
        if let Some(user) = parts.extensions.get::<Self>() {
            return Ok(*user);
        }
        let deps = Deps::from_ref(state);
        // Browsers cannot set headers on a WebSocket: that route alone takes `?access_token=`.
        let token = if parts.uri.path() == WEBSOCKET_ROUTE {
            bearer_token_or_query(&parts.headers, parts.uri.query())?
        } else {
            bearer_token(&parts.headers)?
        };
        let claims = deps.tokens().verify(&token)?;
        let user = Self {
            id: claims.sub,
            workspace_id: claims.ws,
            session_id: claims.sid,
            expires_at: claims.exp,
        };
        user.ensure_signed_in(&deps).await?;
        deps.caches().active_users.seen(claims.sub).await;
        Ok(user)
    }
}
