//! Who is calling: an access token issued by fechatter_server (`Authorization: Bearer` only),
//! verified with its public key, of a session not revoked since.

use axum::extract::FromRequestParts;
use fechatter_auth::{Claims, WorkspaceRole, bearer_token};
use http::request::Parts;

use crate::error::AppError;
use crate::state::AppState;

/// A signed-in caller; a missing, bad or revoked token is a 401.
pub struct Caller(pub Claims);

impl Caller {
    /// Workspace-wide views of single chats are for the workspace's owner and admins.
    pub fn ensure_admin(&self) -> Result<(), AppError> {
        if self.0.role >= WorkspaceRole::Admin {
            return Ok(());
        }
        Err(AppError::Forbidden(
            "this report is for the workspace's owner and admins",
        ))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = bearer_token(&parts.headers)?;
        let claims = state.tokens().verify(&token)?;
        state.revoked().check(&claims)?;
        Ok(Caller(claims))
    }
}
