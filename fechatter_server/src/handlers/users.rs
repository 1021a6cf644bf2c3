use axum::extract::State;
use fechatter_http::{Json, Query};
use http::StatusCode;

use crate::auth::CurrentUser;
use crate::deps::Deps;
use crate::error::AppError;
use crate::extract::JsonObject;
use crate::models::user::{DirectoryUser, Me, SetStatus, UserStatus};
use crate::models::{Page, PageQuery};
use crate::openapi::responses::{BadJson, BadParameters, ServerErrors, Unauthenticated};
use crate::service;

#[utoipa::path(get, path = "/api/users/me", tag = "users", security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = Me),
        Unauthenticated, ServerErrors))]
pub async fn me(State(deps): State<Deps>, caller: CurrentUser) -> Result<Json<Me>, AppError> {
    Ok(Json(service::users::me(&deps, &caller).await?))
}

#[utoipa::path(get, path = "/api/users", tag = "users", security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "The workspace's users, newest first, with their statuses", body = Page<DirectoryUser>),
        BadParameters, Unauthenticated, ServerErrors))]
pub async fn directory(
    State(deps): State<Deps>,
    caller: CurrentUser,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<DirectoryUser>>, AppError> {
    let page = page.validate()?;
    Ok(Json(service::users::directory(&deps, &caller, page).await?))
}

#[utoipa::path(delete, path = "/api/users/me", tag = "users", security(("bearer" = [])),
    responses(
        (status = 204, description = "The account is removed: its email and password are erased, and every one of its sessions is revoked on every service (`session.revoked`)"),
        (status = 409, description = "`workspace_owner`: a workspace's owner cannot remove their account", body = crate::openapi::responses::ErrorBody),
        Unauthenticated, ServerErrors))]
pub async fn remove_me(
    State(deps): State<Deps>,
    caller: CurrentUser,
) -> Result<StatusCode, AppError> {
    service::accounts::remove(&deps, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets the caller's status (`user.status_changed` goes to everyone in the workspace). While it is
/// `dnd`, messages mentioning the caller list them in `silenced_mentions` of their events.
#[utoipa::path(put, path = "/api/users/me/status", tag = "users", security(("bearer" = [])),
    request_body = SetStatus,
    responses(
        (status = 200, description = "The status in force", body = UserStatus),
        BadJson, Unauthenticated, ServerErrors))]
pub async fn set_status(
    State(deps): State<Deps>,
    caller: CurrentUser,
    JsonObject(input): JsonObject<SetStatus>,
) -> Result<Json<UserStatus>, AppError> {
    Ok(Json(service::statuses::set(&deps, &caller, input).await?))
}

/// Clears the caller's status (idempotent).
#[utoipa::path(delete, path = "/api/users/me/status", tag = "users", security(("bearer" = [])),
    responses(
        (status = 204, description = "No status"),
        Unauthenticated, ServerErrors))]
pub async fn clear_status(
    State(deps): State<Deps>,
    caller: CurrentUser,
) -> Result<StatusCode, AppError> {
    service::statuses::clear(&deps, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}
