//! The caller of an authenticated route, from an access token in `Authorization: Bearer` or, on
//! `GET /events` only (EventSource clients cannot set headers), `?access_token=`. A token of a
//! session revoked everywhere (`session.revoked`, followed by the push core) is refused until it
//! expires.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use fechatter_auth::{Claims, bearer_token, bearer_token_or_query};

use crate::error::NotifyError;
use crate::state::AppState;

/// The route that takes a token in its query string.
const STREAM_ROUTE: &str = "/events";

pub struct AuthUser(pub Claims);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = NotifyError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = if parts.uri.path() == STREAM_ROUTE {
            bearer_token_or_query(&parts.headers, parts.uri.query())?
        } else {
            bearer_token(&parts.headers)?
        };
        let claims = state.tokens().verify(&token)?;
        state.push().refuse_if_revoked(claims.sid)?;
        Ok(AuthUser(claims))
    }
}
