//! notify_server's errors and their one mapping to the API's error envelope.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fechatter_auth::TokenError;
use fechatter_http::ApiError;
use fechatter_push::Refused;

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Unauthenticated(#[from] TokenError),
    #[error(transparent)]
    Refused(#[from] Refused),
}

/// How long a client refused for capacity waits before it tries again.
const CAPACITY_RETRY_AFTER_SECS: u64 = 5;

impl IntoResponse for NotifyError {
    fn into_response(self) -> Response {
        let retry_after = (
            header::RETRY_AFTER,
            HeaderValue::from(CAPACITY_RETRY_AFTER_SECS),
        );
        match self {
            NotifyError::Unauthenticated(err) => ApiError::unauthorized(&err).into_response(),
            NotifyError::Refused(err) => {
                tracing::warn!(error = %err, "refusing an SSE connection");
                let (status, code) = match err {
                    Refused::OverCapacity(_) => (StatusCode::SERVICE_UNAVAILABLE, "over_capacity"),
                    Refused::ShuttingDown => (StatusCode::SERVICE_UNAVAILABLE, "shutting_down"),
                    Refused::NotReady => (StatusCode::SERVICE_UNAVAILABLE, "not_ready"),
                    Refused::TooManyConnections(_) => {
                        (StatusCode::TOO_MANY_REQUESTS, "too_many_connections")
                    }
                    Refused::SessionRevoked => {
                        return ApiError::new(
                            StatusCode::UNAUTHORIZED,
                            "session_revoked",
                            err.to_string(),
                        )
                        .with_header(
                            header::WWW_AUTHENTICATE,
                            HeaderValue::from_static("Bearer error=\"invalid_token\""),
                        )
                        .into_response();
                    }
                };
                ApiError::new(status, code, err.to_string())
                    .with_header(retry_after.0, retry_after.1)
                    .into_response()
            }
        }
    }
}
