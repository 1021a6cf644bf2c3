use axum::extract::State;
use fechatter_http::{Json, Query};

use crate::auth::CurrentUser;
use crate::deps::Deps;
use crate::error::AppError;
use crate::models::search::{SearchPage, SearchParams};
use crate::openapi::responses::{BadParameters, NotFound, ServerErrors, Unauthenticated};
use crate::service;

/// `GET /api/search?q=&chat_id=&limit=&before=`
#[utoipa::path(get, path = "/api/search", tag = "search", security(("bearer" = [])),
    params(SearchParams),
    responses(
        (status = 200, description = "Matching messages of the caller's chats, best first", body = SearchPage),
        NotFound, BadParameters, Unauthenticated, ServerErrors))]
pub async fn search(
    State(deps): State<Deps>,
    caller: CurrentUser,
    Query(params): Query<SearchParams>,
) -> Result<Json<SearchPage>, AppError> {
    Ok(Json(service::search::search(&deps, &caller, params).await?))
}
