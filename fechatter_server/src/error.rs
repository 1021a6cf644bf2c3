//! The one error type of the service and its one mapping to the HTTP envelope.

use axum::response::{IntoResponse, Response};
use fechatter_auth::TokenError;
use fechatter_http::ApiError;
use http::{HeaderValue, StatusCode, header};

use crate::db;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("this session has been signed out")]
    SessionRevoked,
    #[error("wrong email or password")]
    InvalidCredentials,
    #[error("the refresh token is not valid")]
    RefreshTokenInvalid,
    #[error("the refresh token has expired")]
    RefreshTokenExpired,
    #[error("the refresh token was already used; the session has been revoked")]
    RefreshTokenReused,
    #[error("this session has reached its maximum lifetime; sign in again")]
    SessionExpired,
    /// 404 for anything missing or outside the caller's workspace or chats (no existence leak).
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// Well-formed input the domain rejects: 422.
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// 413: a body or upload over its limit.
    #[error("{0}")]
    TooLarge(String),
    /// 413 `quota_exceeded`: an upload that would take the uploader or their workspace over its
    /// storage quota.
    #[error("{0}")]
    QuotaExceeded(String),
    /// 415: content of a type the API does not take.
    #[error("{message}")]
    UnsupportedMediaType { code: &'static str, message: String },
    /// 429: try again after this long.
    #[error("too many requests; retry in {0:?}")]
    RateLimited(std::time::Duration),
    /// 429: the user holds the maximum of live connections; one must close first.
    #[error("{0}")]
    TooManyConnections(String),
    #[error("the database is unavailable: {0}")]
    Unavailable(sqlx::Error),
    /// 503: this instance is at a capacity limit (password hashing); retry shortly.
    #[error("the service is busy; retry shortly")]
    Overloaded,
    /// 503 for another dependency (NATS); the cause is logged, never shown.
    #[error("a dependency is unavailable: {0}")]
    DependencyUnavailable(String),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("{0}")]
    Internal(String),
}

impl AppError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            code,
            message: message.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        if db::is_unavailable(&err) {
            AppError::Unavailable(err)
        } else if db::unique_violation(&err).is_some() {
            AppError::conflict("conflict", "this already exists")
        } else {
            AppError::Database(err)
        }
    }
}

fn unauthorized(code: &'static str, message: String) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, code, message).with_header(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer error=\"invalid_token\""),
    )
}

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        let message = err.to_string();
        match err {
            AppError::Token(token) => ApiError::unauthorized(&token),
            AppError::SessionRevoked => unauthorized("session_revoked", message),
            AppError::RefreshTokenInvalid => unauthorized("invalid_token", message),
            AppError::RefreshTokenExpired => unauthorized("token_expired", message),
            AppError::RefreshTokenReused => unauthorized("refresh_token_reused", message),
            AppError::SessionExpired => unauthorized("session_expired", message),
            AppError::InvalidCredentials => {
                ApiError::new(StatusCode::UNAUTHORIZED, "invalid_credentials", message)
                    .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))
            }
            AppError::NotFound(_) => ApiError::not_found(message),
            AppError::Forbidden(_) => ApiError::forbidden(message),
            AppError::Conflict { code, .. } => ApiError::new(StatusCode::CONFLICT, code, message),
            AppError::Invalid { code, .. } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
            }
            AppError::BadRequest { code, .. } => ApiError::bad_request(code, message),
            AppError::TooLarge(_) => ApiError::payload_too_large(message),
            AppError::QuotaExceeded(_) => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "quota_exceeded", message)
            }
            AppError::UnsupportedMediaType { code, .. } => {
                ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, code, message)
            }
            AppError::RateLimited(wait) => ApiError::rate_limited(wait),
            AppError::TooManyConnections(_) => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_connections",
                message,
            ),
            AppError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                ApiError::unavailable("the service is temporarily unavailable; retry shortly")
            }
            AppError::Overloaded => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "over_capacity", message)
                    .with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
            }
            AppError::DependencyUnavailable(cause) => {
                tracing::warn!(error = %cause, "dependency unavailable");
                ApiError::unavailable("the service is temporarily unavailable; retry shortly")
            }
            AppError::Database(cause) => ApiError::internal(&cause),
            AppError::Internal(cause) => ApiError::internal(&cause),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_timeout_is_a_503() {
        let api = ApiError::from(AppError::from(sqlx::Error::PoolTimedOut));
        assert_eq!(
            (api.status, api.code),
            (StatusCode::SERVICE_UNAVAILABLE, "service_unavailable")
        );
    }

    #[test]
    fn a_database_error_hides_its_cause() {
        let api = ApiError::from(AppError::from(sqlx::Error::RowNotFound));
        assert_eq!(api.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!api.message.contains("row"));
    }

    #[test]
    fn every_auth_failure_is_a_401_with_a_bearer_challenge() {
        for err in [
            AppError::SessionRevoked,
            AppError::InvalidCredentials,
            AppError::RefreshTokenReused,
            AppError::Token(TokenError::Expired),
        ] {
            let response = err.into_response();
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
            assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
        }
    }
}
