use axum::extract::State;
use fechatter_http::{Json, Query};

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::models::search::{SearchPage, SearchParams};
use crate::service;
use crate::state::AppState;

/// `GET /api/search?q=&chat_id=&limit=&before=`
pub async fn search(
    State(state): State<AppState>,
    caller: CurrentUser,
    Query(params): Query<SearchParams>,
) -> Result<Json<SearchPage>, AppError> {
    Ok(Json(
        service::search::search(&state, &caller, params).await?,
    ))
}
