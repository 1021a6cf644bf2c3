use axum::extract::State;
use fechatter_http::Json;
use http::StatusCode;

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::models::auth::{
    AuthTokens, Invite, InviteRequest, RefreshRequest, SigninRequest, SignupRequest,
};
use crate::service;
use crate::state::AppState;

pub async fn signup(
    State(state): State<AppState>,
    Json(input): Json<SignupRequest>,
) -> Result<(StatusCode, Json<AuthTokens>), AppError> {
    let tokens = service::signup::signup(&state, input).await?;
    Ok((StatusCode::CREATED, Json(tokens)))
}

pub async fn signin(
    State(state): State<AppState>,
    Json(input): Json<SigninRequest>,
) -> Result<Json<AuthTokens>, AppError> {
    Ok(Json(service::auth::signin(&state, input).await?))
}

pub async fn refresh(
    State(state): State<AppState>,
    Json(input): Json<RefreshRequest>,
) -> Result<Json<AuthTokens>, AppError> {
    Ok(Json(service::auth::refresh(&state, input).await?))
}

pub async fn signout(
    State(state): State<AppState>,
    caller: CurrentUser,
) -> Result<StatusCode, AppError> {
    service::auth::signout(&state, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn create_invite(
    State(state): State<AppState>,
    caller: CurrentUser,
    Json(input): Json<InviteRequest>,
) -> Result<(StatusCode, Json<Invite>), AppError> {
    let invite = service::invites::create(&state, &caller, input).await?;
    Ok((StatusCode::CREATED, Json(invite)))
}
