//! Who is calling: an access token issued by fechatter_server (`Authorization: Bearer` only),
//! verified with its public key, of a session not revoked since.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use fechatter_auth::revocation::RevokedSessions;
use fechatter_auth::{Claims, TokenVerifier, WorkspaceRole, bearer_token};
use http::request::Parts;

use crate::error::AppError;

/// What telling a caller takes: the public key and the sessions revoked since their tokens were
/// issued. Cheap to clone.
#[derive(Clone)]
pub struct Authenticator {
    tokens: Arc<TokenVerifier>,
    revoked: RevokedSessions,
}

impl Authenticator {
    pub fn new(tokens: TokenVerifier, revoked: RevokedSessions) -> Self {
        Self {
            tokens: Arc::new(tokens),
            revoked,
        }
    }

    /// The sessions revoked in the last token lifetime (`session.revoked`).
    pub fn revoked(&self) -> &RevokedSessions {
        &self.revoked
    }

    fn caller(&self, parts: &Parts) -> Result<Caller, AppError> {
        let token = bearer_token(&parts.headers)?;
        let claims = self.tokens.verify(&token)?;
        self.revoked.check(&claims)?;
        Ok(Caller(claims))
    }
}

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

impl<S> FromRequestParts<S> for Caller
where
    S: Send + Sync,
    Authenticator: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        Authenticator::from_ref(state).caller(parts)
    }
}
