//! Who is calling: the access token issued by fechatter_server, verified with the shared secret.

use axum::extract::FromRequestParts;
use fechatter_auth::{Claims, TokenError, bearer_token};
use http::request::Parts;

use crate::error::AppError;
use crate::state::AppState;

/// A signed-in caller; a missing or bad token is a 401.
pub struct Caller(pub Claims);

/// A caller who may be anonymous (clients report `app_start` before signing in); a token that is
/// present but bad is still a 401, never silently anonymous.
pub struct MaybeCaller(pub Option<Claims>);

fn claims(parts: &Parts, state: &AppState) -> Result<Option<Claims>, TokenError> {
    match bearer_token(&parts.headers, parts.uri.query()) {
        Err(TokenError::Missing) => Ok(None),
        Err(err) => Err(err),
        Ok(token) => state.tokens().verify(&token).map(Some),
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        claims(parts, state)?
            .map(Caller)
            .ok_or(AppError::Unauthorized(TokenError::Missing))
    }
}

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        Ok(MaybeCaller(claims(parts, state)?))
    }
}
