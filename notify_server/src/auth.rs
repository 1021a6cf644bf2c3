//! The caller of an authenticated route, from an access token in `Authorization: Bearer` or, for
//! EventSource clients that cannot set headers, `?access_token=`. A token of a revoked session is
//! refused until it expires.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use fechatter_auth::{Claims, bearer_token};

use crate::error::NotifyError;
use crate::state::AppState;

pub struct AuthUser(pub Claims);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = NotifyError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(&parts.headers, parts.uri.query())?;
        let claims = state.tokens().verify(&token)?;
        state.push().refuse_if_revoked(claims.sid)?;
        Ok(AuthUser(claims))
    }
}
