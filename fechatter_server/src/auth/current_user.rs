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
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = bearer_token(&parts.headers, parts.uri.query())?;
        let claims = state.tokens().verify(&token)?;
        let session = state
            .caches()
            .sessions
            .get_or_load(claims.sid, || {
                repo::sessions::find(state.pool(), claims.sid)
            })
            .await?;
        match session {
            Some(session) if !session.revoked && session.user_id == claims.sub => {}
            _ => return Err(AppError::SessionRevoked),
        }
        state.caches().active_users.seen(claims.sub).await;
        Ok(Self {
            id: claims.sub,
            workspace_id: claims.ws,
            session_id: claims.sid,
        })
    }
}
