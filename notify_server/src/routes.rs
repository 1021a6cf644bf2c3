//! The API router.

use axum::Router;
use axum::routing::get;

use crate::handlers::{events, online_users};
use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/events", get(events::events))
        .route("/online-users", get(online_users::online_users))
        .fallback(fechatter_http::route_not_found)
        .with_state(state)
}
