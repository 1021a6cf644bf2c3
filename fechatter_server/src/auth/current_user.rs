use axum::extract::FromRequestParts;
use fechatter_auth::bearer_token;
use fechatter_events::{UserId, WorkspaceId};
use http::request::Parts;
use uuid::Uuid;

use crate::error::AppError;
use crate::repo;
use crate::state::AppState;

/// The authenticated caller: a valid access token whose session is still open.
///
/// The session check is what makes sign-out and refresh-token reuse end access tokens before they
/// expire; it is served from the session cache, which this instance updates on revocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurrentUser {
    pub id: UserId,
    pub workspace_id: WorkspaceId,
    pub session_id: Uuid,
    /// When the access token expires (Unix seconds); long-lived connections end then.
    pub expires_at: i64,
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
            Some(session) if !session.revoked && session.user_id == self.id => Ok(()),
            _ => Err(AppError::SessionRevoked),
        }
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = bearer_token(&parts.headers, parts.uri.query())?;
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
