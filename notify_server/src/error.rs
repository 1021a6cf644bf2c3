//! notify_server's errors and their one mapping to the API's error envelope.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fechatter_auth::TokenError;
use fechatter_http::ApiError;

use crate::hub::AtCapacity;

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Unauthenticated(#[from] TokenError),
    #[error(transparent)]
    AtCapacity(#[from] AtCapacity),
}

/// How long a client refused for capacity waits before it tries again.
const CAPACITY_RETRY_AFTER_SECS: u64 = 5;

impl IntoResponse for NotifyError {
    fn into_response(self) -> Response {
        match self {
            NotifyError::Unauthenticated(err) => ApiError::unauthorized(&err).into_response(),
            NotifyError::AtCapacity(err) => {
                tracing::warn!(error = %err, "refusing an SSE connection");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "over_capacity",
                    err.to_string(),
                )
                .with_header(
                    header::RETRY_AFTER,
                    HeaderValue::from(CAPACITY_RETRY_AFTER_SECS),
                )
                .into_response()
            }
        }
    }
}
