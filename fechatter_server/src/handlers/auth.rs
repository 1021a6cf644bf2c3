use std::sync::Arc;

use axum::extract::State;
use fechatter_http::Json;
use http::{HeaderValue, StatusCode, header};

use crate::auth::{CurrentUser, Passwords, SigninThrottle};
use crate::deps::Deps;
use crate::error::AppError;
use crate::extract::JsonObject;
use crate::models::auth::{
    AuthTokens, Invite, InviteRequest, RefreshRequest, SigninRequest, SignupRequest,
};
use crate::openapi::responses::{BadJson, ErrorBody, Forbidden, ServerErrors, Unauthenticated};
use crate::service;

/// A response carrying credentials: never stored by a browser or a proxy (RFC 6749 §5.1).
pub type NoStore<T> = ([(header::HeaderName, HeaderValue); 2], Json<T>);

pub fn no_store<T>(body: T) -> NoStore<T> {
    (
        [
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (header::PRAGMA, HeaderValue::from_static("no-cache")),
        ],
        Json(body),
    )
}

#[utoipa::path(post, path = "/api/signup", tag = "auth", request_body = SignupRequest,
    responses(
        (status = 201, description = "Signed up: the owner of a new workspace, or a member of the invite's", body = AuthTokens,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 409, description = "The email is taken", body = ErrorBody),
        BadJson, ServerErrors))]
pub async fn signup(
    State(deps): State<Deps>,
    State(passwords): State<Passwords>,
    JsonObject(input): JsonObject<SignupRequest>,
) -> Result<(StatusCode, NoStore<AuthTokens>), AppError> {
    let tokens = service::signup::signup(&deps, &passwords, input).await?;
    Ok((StatusCode::CREATED, no_store(tokens)))
}

#[utoipa::path(post, path = "/api/signin", tag = "auth", request_body = SigninRequest,
    responses(
        (status = 200, description = "Signed in", body = AuthTokens,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 401, description = "Wrong email or password", body = ErrorBody),
        (status = 429, description = "Too many attempts from this address (IPv6: its /64) or at this account; `Retry-After` says when to retry",
            body = ErrorBody, headers(("Retry-After" = u64, description = "seconds to wait"))),
        BadJson, ServerErrors))]
pub async fn signin(
    State(deps): State<Deps>,
    State(passwords): State<Passwords>,
    State(throttle): State<Arc<SigninThrottle>>,
    JsonObject(input): JsonObject<SigninRequest>,
) -> Result<NoStore<AuthTokens>, AppError> {
    Ok(no_store(
        service::auth::signin(&deps, &passwords, &throttle, input).await?,
    ))
}

#[utoipa::path(post, path = "/api/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new access token and the next refresh token (the given one is spent)", body = AuthTokens,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 401, description = "The refresh token is unknown, expired or already used (`refresh_token_reused` revokes its session), or its session has ended (`session_revoked`, `session_expired`: past `FECHATTER_SESSION_LIFETIME_DAYS`)", body = ErrorBody),
        BadJson, ServerErrors))]
pub async fn refresh(
    State(deps): State<Deps>,
    JsonObject(input): JsonObject<RefreshRequest>,
) -> Result<NoStore<AuthTokens>, AppError> {
    Ok(no_store(service::auth::refresh(&deps, input).await?))
}

#[utoipa::path(post, path = "/api/signout", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 204, description = "The session and its tokens are revoked, on every service (`session.revoked`)"),
        Unauthenticated, ServerErrors))]
pub async fn signout(
    State(deps): State<Deps>,
    caller: CurrentUser,
) -> Result<StatusCode, AppError> {
    service::auth::signout(&deps, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/workspace/invites", tag = "auth", security(("bearer" = [])),
    request_body = InviteRequest,
    responses(
        (status = 201, description = "An invite code, shown once", body = Invite),
        Forbidden, BadJson, Unauthenticated, ServerErrors))]
pub async fn create_invite(
    State(deps): State<Deps>,
    caller: CurrentUser,
    JsonObject(input): JsonObject<InviteRequest>,
) -> Result<(StatusCode, Json<Invite>), AppError> {
    let invite = service::invites::create(&deps, &caller, input).await?;
    Ok((StatusCode::CREATED, Json(invite)))
}
