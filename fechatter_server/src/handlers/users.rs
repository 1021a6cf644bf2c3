use axum::extract::State;
use fechatter_http::{Json, Query};
use http::StatusCode;

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::models::user::Me;
use crate::models::{Page, PageQuery, User};
use crate::openapi::responses::{BadParameters, ServerErrors, Unauthenticated};
use crate::service;
use crate::state::AppState;

#[utoipa::path(get, path = "/api/users/me", tag = "users", security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = Me),
        Unauthenticated, ServerErrors))]
pub async fn me(State(state): State<AppState>, caller: CurrentUser) -> Result<Json<Me>, AppError> {
    Ok(Json(service::users::me(&state, &caller).await?))
}

#[utoipa::path(get, path = "/api/users", tag = "users", security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "The workspace's users, newest first", body = Page<User>),
        BadParameters, Unauthenticated, ServerErrors))]
pub async fn directory(
    State(state): State<AppState>,
    caller: CurrentUser,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<User>>, AppError> {
    let page = page.validate()?;
    Ok(Json(
        service::users::directory(&state, &caller, page).await?,
    ))
}

#[utoipa::path(delete, path = "/api/users/me", tag = "users", security(("bearer" = [])),
    responses(
        (status = 204, description = "The account is removed: its email and password are erased, and every one of its sessions is revoked on every service (`session.revoked`)"),
        (status = 409, description = "`workspace_owner`: a workspace's owner cannot remove their account", body = crate::openapi::responses::ErrorBody),
        Unauthenticated, ServerErrors))]
pub async fn remove_me(
    State(state): State<AppState>,
    caller: CurrentUser,
) -> Result<StatusCode, AppError> {
    service::accounts::remove(&state, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}
