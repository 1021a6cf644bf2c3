//! The API router. Handlers stay thin: they parse, call a service function, and shape the answer.

use axum::Router;

use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .fallback(fechatter_http::route_not_found)
        .with_state(state)
}
