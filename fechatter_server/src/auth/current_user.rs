use axum::extract::FromRequestParts;
use chrono::Utc;
use fechatter_auth::{bearer_token, bearer_token_or_query};
use fechatter_events::{UserId, WorkspaceId};
use http::request::Parts;
use uuid::Uuid;

use crate::error::AppError;
use crate::repo;
use crate::repo::sessions::SessionState;
use crate::state::AppState;

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
pub fn session_is_open(session: &SessionState, user: UserId, state: &AppState) -> bool {
    let lifetime = chrono::Duration::from_std(state.config().auth.session_lifetime)
        .unwrap_or(chrono::Duration::MAX);
    !session.revoked && session.user_id == user && session.created_at + lifetime > Utc::now()
}

impl CurrentUser {
    /// Whether the caller's session is still open (long-lived connections re-check it).
    pub async fn ensure_signed_in(&self, state: &AppState) -> Result<(), AppError> {
        let session = state
            .caches()
            .sessions
            .get_or_load(self.session_id, || {
                repo::sessions::find(state.pool(), self.session_id)
            })
            .await?;
        match session {
            Some(session) if session_is_open(&session, self.id, state) => Ok(()),
            _ => Err(AppError::SessionRevoked),
        }
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        // A rate-limited route authenticated the caller already (`crate::rate_limit::admit`).
        if let Some(user) = parts.extensions.get::<Self>() {
            return Ok(*user);
        }
        // Browsers cannot set headers on a WebSocket: that route alone takes `?access_token=`.
        let token = if parts.uri.path() == crate::ws::ROUTE {
            bearer_token_or_query(&parts.headers, parts.uri.query())?
        } else {
            bearer_token(&parts.headers)?
        };
        let claims = state.tokens().verify(&token)?;
        let user = Self {
            id: claims.sub,
            workspace_id: claims.ws,
            session_id: claims.sid,
            expires_at: claims.exp,
        };
        user.ensure_signed_in(state).await?;
        state.caches().active_users.seen(claims.sub).await;
        Ok(user)
    }
}
