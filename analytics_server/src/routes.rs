//! The API router.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::ingest::http::{post_event, post_events};
use crate::reports::handlers as reports;
use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    let body_limit = state.config().ingest.batch_max_bytes;
    Router::new()
        .route("/api/event", post(post_event))
        .route("/api/events", post(post_events))
        .route("/api/reports/active-users", get(reports::active_users))
        .route("/api/reports/events-by-type", get(reports::events_by_type))
        .route("/api/reports/messages", get(reports::messages))
        .route("/api/reports/top-chats", get(reports::top_chats))
        .route("/api/reports/sessions", get(reports::sessions))
        .route("/api/reports/search", get(reports::search))
        .layer(DefaultBodyLimit::max(body_limit))
        .fallback(fechatter_http::route_not_found)
        .with_state(state)
}
