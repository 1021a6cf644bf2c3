//! The API router. Handlers stay thin: they parse, call a service function, and shape the answer.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, patch, post, put};
use fechatter_http::ApiError;
use http::StatusCode;

use crate::handlers::{auth, bots, chats, files, messages, pins, search, threads, users, webhooks};
use crate::state::AppState;

/// Uploads have a request deadline of their own (`FECHATTER_UPLOAD_TIMEOUT_MS`).
pub const UPLOAD_ROUTE: &str = "/api/files";

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not accept that method",
    )
}

pub fn router(state: AppState) -> Router {
    let body_limit = state.config().limits.max_body_bytes;
    let upload_body_limit = state.config().files.max_upload_bytes + 64 * 1024;
    Router::new()
        .route("/api/signup", post(auth::signup))
        .route("/api/signin", post(auth::signin))
        .route("/api/refresh", post(auth::refresh))
        .route("/api/signout", post(auth::signout))
        .route("/api/workspace/invites", post(auth::create_invite))
        .route("/api/bots/token", post(bots::token))
        .route("/api/bots/provision", post(bots::provision))
        .route("/api/users/me", get(users::me).delete(users::remove_me))
        .route(
            "/api/users/me/status",
            put(users::set_status).delete(users::clear_status),
        )
        .route("/api/users", get(users::directory))
        .route("/api/chats", get(chats::list).post(chats::create))
        // A static segment wins over `{id}`.
        .route("/api/chats/public", get(chats::public_channels))
        .route(
            "/api/chats/{id}",
            get(chats::get).patch(chats::update).delete(chats::delete),
        )
        .route(
            "/api/chats/{id}/members",
            get(chats::members).post(chats::add_member),
        )
        .route(
            "/api/chats/{id}/members/{user_id}",
            delete(chats::remove_member),
        )
        .route(
            "/api/chats/{id}/messages",
            get(messages::list).post(messages::send),
        )
        .route(
            "/api/chats/{id}/messages/{message_id}",
            patch(messages::edit).delete(messages::delete),
        )
        .route(
            "/api/chats/{id}/messages/{message_id}/history",
            get(messages::history),
        )
        .route(
            "/api/chats/{id}/messages/{message_id}/pin",
            put(pins::pin).delete(pins::unpin),
        )
        .route("/api/chats/{id}/pins", get(pins::list))
        .route(
            "/api/chats/{id}/messages/{message_id}/thread",
            get(threads::thread),
        )
        .route(
            "/api/chats/{id}/messages/{message_id}/thread/read",
            post(threads::mark_read),
        )
        .route("/api/threads", get(threads::followed))
        .route(
            "/api/chats/{id}/webhooks/incoming",
            get(webhooks::list_incoming).post(webhooks::create_incoming),
        )
        .route(
            "/api/chats/{id}/webhooks/incoming/{webhook_id}",
            delete(webhooks::revoke_incoming),
        )
        .route(
            "/api/chats/{id}/webhooks/outgoing",
            get(webhooks::list_outgoing).post(webhooks::create_outgoing),
        )
        .route(
            "/api/chats/{id}/webhooks/outgoing/{webhook_id}",
            delete(webhooks::revoke_outgoing),
        )
        .route(
            "/api/chats/{id}/webhooks/outgoing/{webhook_id}/deliveries",
            get(webhooks::deliveries),
        )
        .route(crate::rate_limit::HOOK_ROUTE, post(webhooks::post))
        .route(
            "/api/chats/{id}/messages/{message_id}/reactions/{emoji}",
            put(messages::add_reaction).delete(messages::remove_reaction),
        )
        .route("/api/chats/{id}/read", post(messages::mark_read))
        .route("/api/chats/{id}/typing", post(chats::typing))
        .route(
            UPLOAD_ROUTE,
            // The file size limit is enforced on the file itself; this bounds the multipart framing.
            post(files::upload).layer(DefaultBodyLimit::max(upload_body_limit)),
        )
        .route("/api/files/{id}", get(files::download))
        .route("/api/ws", get(crate::ws::connect))
        .route("/api/openapi.json", get(crate::openapi::spec))
        .route("/api/search", get(search::search))
        .fallback(fechatter_http::route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}
