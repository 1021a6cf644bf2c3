//! notify_server's errors and their one mapping to the API's error envelope.

use axum::response::{IntoResponse, Response};
use fechatter_auth::TokenError;
use fechatter_http::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Unauthenticated(#[from] TokenError),
}

impl IntoResponse for NotifyError {
    fn into_response(self) -> Response {
        match self {
            NotifyError::Unauthenticated(err) => ApiError::unauthorized(&err).into_response(),
        }
    }
}
