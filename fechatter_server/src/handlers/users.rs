use axum::extract::State;
use fechatter_http::{Json, Query};

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::models::user::Me;
use crate::models::{Page, PageQuery, User};
use crate::service;
use crate::state::AppState;

pub async fn me(State(state): State<AppState>, caller: CurrentUser) -> Result<Json<Me>, AppError> {
    Ok(Json(service::users::me(&state, &caller).await?))
}

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
