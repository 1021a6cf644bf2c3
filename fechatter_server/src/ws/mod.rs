//! `GET /api/ws`: commands from the client (send a message, typing, mark read), each acknowledged,
//! and the caller's domain events pushed to them. See [`protocol`] for the frames.

mod commands;
mod connection;
pub mod events;
pub mod hub;
pub mod protocol;

use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::response::Response;
use fechatter_events::{ChatId, UserId};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

pub use commands::ROUTE;

use crate::auth::CurrentUser;
use crate::config::WebSocketSettings;
use crate::error::AppError;
use crate::state::AppState;
use hub::Hub;

/// The sockets of this instance and the typing throttle.
pub struct WebSockets {
    hub: Arc<Hub>,
    /// One typing signal per user and chat per interval; `None` when the throttle is off.
    typing: Option<DefaultKeyedRateLimiter<(UserId, ChatId)>>,
}

impl std::fmt::Debug for WebSockets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSockets").finish_non_exhaustive()
    }
}

impl WebSockets {
    pub fn new(settings: &WebSocketSettings) -> Self {
        let typing = Quota::with_period(settings.typing_throttle)
            .map(|quota| RateLimiter::keyed(quota.allow_burst(NonZeroU32::MIN)));
        Self {
            hub: Arc::new(Hub::default()),
            typing,
        }
    }

    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    fn typing_allowed(&self, user: UserId, chat: ChatId) -> bool {
        self.typing
            .as_ref()
            .is_none_or(|limiter| limiter.check_key(&(user, chat)).is_ok())
    }

    /// Forgets throttle entries that have lapsed.
    pub fn sweep(&self) {
        if let Some(limiter) = &self.typing {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// Authenticates (401 in the error envelope before any upgrade), then upgrades.
#[utoipa::path(get, path = "/api/ws", tag = "realtime", security(("bearer" = [])),
    description = "A WebSocket (token in `Authorization` or `?access_token=`). Client frames are \
        `Command`s with an optional string `id`; the server answers each with \
        `{\"type\":\"ack\",\"id\",\"result\": AckResult}` or \
        `{\"type\":\"error\",\"id\",\"status\",\"error\": ErrorBody}`, and pushes \
        `{\"type\":\"event\",\"event\": Envelope}` for the caller's events (the envelope \
        without `recipients`).",
    params(("access_token" = Option<String>, Query, description = "The access token, for clients that cannot set headers")),
    responses(
        (status = 101, description = "Switched to the WebSocket protocol"),
        (status = 400, description = "Not a WebSocket upgrade request", body = crate::openapi::responses::ErrorBody),
        crate::openapi::responses::Unauthenticated,
        crate::openapi::responses::ServerErrors))]
pub async fn connect(
    State(state): State<AppState>,
    caller: CurrentUser,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, AppError> {
    let upgrade = upgrade.map_err(|rejection| {
        AppError::bad_request("websocket_upgrade_required", rejection.body_text())
    })?;
    let settings = state.config().websocket;
    Ok(upgrade
        .max_message_size(settings.max_message_bytes)
        .max_frame_size(settings.max_message_bytes)
        .on_failed_upgrade(|err| tracing::debug!(error = %err, "websocket upgrade failed"))
        .on_upgrade(move |socket| connection::serve(state, socket, caller)))
}
