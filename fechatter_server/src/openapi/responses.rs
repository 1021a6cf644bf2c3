//! The error responses routes share, for their `#[utoipa::path]` attributes. Each is the one error
//! envelope ([`ErrorBody`]) under the statuses a kind of route can answer with.

#![allow(dead_code)] // Documentation types: never built, only described.

use utoipa::{IntoResponses, ToSchema};

/// The error envelope of every error response (and of WebSocket error frames).
#[derive(Debug, ToSchema)]
#[schema(example = json!({"code": "not_found", "message": "chat not found"}))]
pub struct ErrorBody {
    /// A stable snake_case code, e.g. `not_found`, `invalid_body`, `rate_limited`.
    pub code: String,
    /// A human sentence.
    pub message: String,
    /// With `rate_limited`: milliseconds until a retry may succeed.
    pub retry_after_ms: Option<u64>,
}

/// What any route may answer when our side fails or a request runs out of time.
#[derive(IntoResponses)]
pub enum ServerErrors {
    /// The request took longer than its deadline (`FECHATTER_REQUEST_TIMEOUT_MS`; uploads
    /// `FECHATTER_UPLOAD_TIMEOUT_MS`); the connection is closed. Retry.
    #[response(status = 408)]
    TimedOut(ErrorBody),
    /// Something went wrong on our side; the body names no internals.
    #[response(status = 500)]
    Internal(ErrorBody),
    /// A dependency (the database) is unavailable, or this instance is at a capacity limit
    /// (`over_capacity`: password hashing, with `Retry-After`); retry shortly.
    #[response(status = 503)]
    Unavailable(ErrorBody),
}

/// Routes that need an access token.
#[derive(IntoResponses)]
pub enum Unauthenticated {
    /// No token (in the `Authorization` header: only `/api/ws` also takes `?access_token=`), or a
    /// malformed, expired or revoked one (`session_revoked`: signed out, refresh token reused,
    /// account removed; `session_expired`: past the session lifetime).
    #[response(status = 401, headers(("WWW-Authenticate" = String, description = "Bearer challenge")))]
    Unauthorized(ErrorBody),
}

/// Routes with path or query parameters.
#[derive(IntoResponses)]
pub enum BadParameters {
    /// A path or query parameter is malformed or out of range.
    #[response(status = 400)]
    BadRequest(ErrorBody),
}

/// Routes with a JSON body.
#[derive(IntoResponses)]
pub enum BadJson {
    /// Malformed JSON, or a malformed path or query parameter.
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// The body is larger than allowed.
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// The body is not `application/json`.
    #[response(status = 415)]
    UnsupportedMediaType(ErrorBody),
    /// Wrong types, unknown fields, or input the domain rejects.
    #[response(status = 422)]
    Unprocessable(ErrorBody),
}

/// The resource does not exist or is outside the caller's workspace or chats.
#[derive(IntoResponses)]
pub enum NotFound {
    #[response(status = 404)]
    NotFound(ErrorBody),
}

/// The caller may see the resource but not do this to it.
#[derive(IntoResponses)]
pub enum Forbidden {
    #[response(status = 403)]
    Forbidden(ErrorBody),
}

/// The change conflicts with what exists.
#[derive(IntoResponses)]
pub enum Conflict {
    #[response(status = 409)]
    Conflict(ErrorBody),
}

/// Well-formed input a domain rule rejects.
#[derive(IntoResponses)]
pub enum Unprocessable {
    #[response(status = 422)]
    Unprocessable(ErrorBody),
}

/// Rate-limited routes.
#[derive(IntoResponses)]
pub enum RateLimited {
    /// Too many requests; `Retry-After` (seconds) and `retry_after_ms` say when to retry.
    #[response(status = 429, headers(("Retry-After" = u64, description = "seconds to wait")))]
    TooManyRequests(ErrorBody),
}
