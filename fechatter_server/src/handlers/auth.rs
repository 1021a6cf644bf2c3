use axum::extract::State;
use fechatter_http::Json;
use http::StatusCode;

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::extract::JsonObject;
use crate::models::auth::{
    AuthTokens, Invite, InviteRequest, RefreshRequest, SigninRequest, SignupRequest,
};
use crate::openapi::responses::{
    BadJson, ErrorBody, Forbidden, RateLimited, ServerErrors, Unauthenticated,
};
use crate::rate_limit::{IpLimited, LimitedUser, limits};
use crate::service;
use crate::state::AppState;

#[utoipa::path(post, path = "/api/signup", tag = "auth", request_body = SignupRequest,
    responses(
        (status = 201, description = "Signed up: the owner of a new workspace, or a member of the invite's", body = AuthTokens),
        (status = 409, description = "The email is taken", body = ErrorBody),
        BadJson, RateLimited, ServerErrors))]
pub async fn signup(
    State(state): State<AppState>,
    _: IpLimited<limits::Signup>,
    JsonObject(input): JsonObject<SignupRequest>,
) -> Result<(StatusCode, Json<AuthTokens>), AppError> {
    let tokens = service::signup::signup(&state, input).await?;
    Ok((StatusCode::CREATED, Json(tokens)))
}

#[utoipa::path(post, path = "/api/signin", tag = "auth", request_body = SigninRequest,
    responses(
        (status = 200, description = "Signed in", body = AuthTokens),
        (status = 401, description = "Wrong email or password", body = ErrorBody),
        BadJson, RateLimited, ServerErrors))]
pub async fn signin(
    State(state): State<AppState>,
    _: IpLimited<limits::Signin>,
    JsonObject(input): JsonObject<SigninRequest>,
) -> Result<Json<AuthTokens>, AppError> {
    Ok(Json(service::auth::signin(&state, input).await?))
}

#[utoipa::path(post, path = "/api/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new access token and the next refresh token (the given one is spent)", body = AuthTokens),
        (status = 401, description = "The refresh token is unknown, expired or already used", body = ErrorBody),
        BadJson, RateLimited, ServerErrors))]
pub async fn refresh(
    State(state): State<AppState>,
    _: IpLimited<limits::Refresh>,
    JsonObject(input): JsonObject<RefreshRequest>,
) -> Result<Json<AuthTokens>, AppError> {
    Ok(Json(service::auth::refresh(&state, input).await?))
}

#[utoipa::path(post, path = "/api/signout", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 204, description = "The session and its tokens are revoked"),
        Unauthenticated, ServerErrors))]
pub async fn signout(
    State(state): State<AppState>,
    caller: CurrentUser,
) -> Result<StatusCode, AppError> {
    service::auth::signout(&state, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/workspace/invites", tag = "auth", security(("bearer" = [])),
    request_body = InviteRequest,
    responses(
        (status = 201, description = "An invite code, shown once", body = Invite),
        Forbidden, BadJson, RateLimited, Unauthenticated, ServerErrors))]
pub async fn create_invite(
    State(state): State<AppState>,
    caller: LimitedUser<limits::Invite>,
    JsonObject(input): JsonObject<InviteRequest>,
) -> Result<(StatusCode, Json<Invite>), AppError> {
    let invite = service::invites::create(&state, &caller, input).await?;
    Ok((StatusCode::CREATED, Json(invite)))
}
