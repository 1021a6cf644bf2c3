//! The service's errors and their one mapping to the HTTP error envelope.

use axum::response::{IntoResponse, Response};
use fechatter_auth::TokenError;
use fechatter_http::ApiError;
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

use crate::client_stream;
use crate::events::rejection::Rejection;
use crate::store::StoreError;

/// One refused event of a batch, as the client sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RejectedEvent {
    pub index: usize,
    pub code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

impl RejectedEvent {
    pub fn new(index: usize, rejection: Rejection) -> Self {
        Self {
            index,
            code: rejection.reason.as_str(),
            field: rejection.field,
            message: rejection.message,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Unauthorized(#[from] TokenError),
    #[error("{0}")]
    Forbidden(&'static str),
    /// 429: retry after this long.
    #[error("too many requests")]
    RateLimited(std::time::Duration),
    #[error("invalid event: {}", .0.message)]
    InvalidEvent(RejectedEvent),
    #[error("the batch has no events")]
    EmptyBatch,
    #[error("the batch has {got} events; at most {max} are allowed")]
    BatchTooLarge { got: usize, max: usize },
    #[error("every event of the batch was rejected")]
    NoValidEvents(Vec<RejectedEvent>),
    /// JetStream did not store the accepted events (NATS is down): nothing was accepted.
    #[error(transparent)]
    NotStored(#[from] client_stream::StoreError),
    #[error("{0}")]
    InvalidQuery(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An envelope error made elsewhere (an extractor's rejection); boxed, it is large.
    #[error("{0}")]
    Api(Box<ApiError>),
}

impl From<ApiError> for AppError {
    fn from(error: ApiError) -> Self {
        AppError::Api(Box::new(error))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let message = self.to_string();
        let error = match self {
            AppError::Unauthorized(err) => ApiError::unauthorized(&err),
            AppError::Forbidden(_) => ApiError::forbidden(message),
            AppError::RateLimited(wait) => ApiError::rate_limited(wait),
            AppError::InvalidEvent(rejected) => {
                let error = ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    rejected.code,
                    rejected.message,
                );
                match rejected.field {
                    Some(field) => error.with_extra("field", field),
                    None => error,
                }
            }
            AppError::EmptyBatch => ApiError::bad_request("empty_batch", message),
            AppError::BatchTooLarge { max, .. } => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "batch_too_large", message)
                    .with_extra("max_events", max)
            }
            AppError::NoValidEvents(rejected) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "no_valid_events", message)
                    .with_extra(
                        "rejected",
                        serde_json::to_value(rejected).unwrap_or_default(),
                    )
            }
            AppError::NotStored(err) => {
                tracing::warn!(error = %err, "client events not stored");
                ApiError::unavailable(
                    "analytics cannot store events right now; retry the same events later",
                )
                .with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
            }
            AppError::InvalidQuery(message) => ApiError::bad_request("invalid_query", message),
            AppError::Store(err) => {
                tracing::warn!(error = %err, "report query failed");
                ApiError::unavailable("analytics storage is unavailable; try again shortly")
            }
            AppError::Api(error) => *error,
        };
        error.into_response()
    }
}
