//! `GET /api/ws`: commands from the client (send a message, typing, mark read), each acknowledged,
//! and the caller's domain events pushed to them. See [`protocol`] for the frames.

mod close;
mod commands;
mod connection;
pub mod protocol;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::response::Response;
use fechatter_events::EventBus;
use fechatter_push::{HubLimits, Opening, PushCore, PushSettings, Refused, ReplayLimits, Resume};
use serde::Deserialize;

pub use commands::ROUTE;

use crate::auth::CurrentUser;
use crate::config::WebSocketSettings;
use crate::deps::Deps;
use crate::error::AppError;
use crate::observability::metrics::WebSocketPushRecorder;
use crate::rate_limit::RateLimiters;
use crate::service::typing::TypingThrottle;

/// What a socket uses: the use cases' dependencies, this instance's sockets, the rate limits it
/// shares with HTTP, and NATS for the typing signals.
#[derive(Clone)]
pub struct Context {
    pub deps: Deps,
    pub sockets: Arc<WebSockets>,
    pub limiters: Arc<RateLimiters>,
    pub nats: async_nats::Client,
}

/// The sockets of this instance (the push core, shared with notify_server's SSE) and the typing
/// throttle.
pub struct WebSockets {
    push: Arc<PushCore>,
    /// Typing signals sent over sockets, throttled apart from those sent over HTTP.
    typing: TypingThrottle,
}

impl std::fmt::Debug for WebSockets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSockets").finish_non_exhaustive()
    }
}

impl WebSockets {
    pub fn new(
        nats: async_nats::Client,
        bus: EventBus,
        settings: &WebSocketSettings,
        access_token_ttl: Duration,
    ) -> Self {
        let push = PushSettings {
            hub: HubLimits {
                buffer: settings.buffer,
                // Sockets are bounded per user; the instance as a whole by its file descriptors.
                max_connections: usize::MAX,
                max_connections_per_user: settings.max_connections_per_user,
            },
            ring_events: settings.ring_events,
            replay: ReplayLimits {
                max_events: settings.replay_max_events,
                max_scan: settings.replay_max_scan,
                max_age: settings.replay_max_age,
            },
            replay_concurrency: settings.replay_concurrency,
            access_token_ttl,
            // Presence is notify_server's.
            presence: None,
        };
        Self {
            push: PushCore::new(nats, bus, push, Arc::new(WebSocketPushRecorder)),
            typing: TypingThrottle::new(settings.typing_throttle),
        }
    }

    /// The log reader, the hub of sockets and resumes.
    pub fn push(&self) -> &Arc<PushCore> {
        &self.push
    }

    fn typing(&self) -> &TypingThrottle {
        &self.typing
    }

    /// Forgets throttle entries that have lapsed.
    pub fn sweep(&self) {
        self.typing.sweep();
    }
}

/// Where a socket resumes: the `cursor` of the last event it received.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResumeQuery {
    /// The `cursor` of the last event frame received (`epoch:sequence`); the socket first gets
    /// what was missed since, or one `resync` frame.
    cursor: Option<String>,
}

/// Authenticates (401 in the error envelope before any upgrade), takes the socket's place in the
/// hub (429 `too_many_connections` beyond the per-user cap), then upgrades.
#[utoipa::path(get, path = "/api/ws", tag = "realtime", security(("bearer" = [])),
    description = "A WebSocket (token in `Authorization` or `?access_token=`). Client frames are \
        `Command`s with an optional string `id`; the server answers each with \
        `{\"type\":\"ack\",\"id\",\"result\": AckResult}` or \
        `{\"type\":\"error\",\"id\",\"status\",\"error\": ErrorBody}`, and pushes \
        `{\"type\":\"event\",\"event\": Envelope,\"cursor\":\"epoch:seq\"}` for the caller's \
        events (the envelope without `recipients`). First it sends what was missed since \
        `?cursor=` and then `{\"type\":\"connected\",\"cursor\"}`, or \
        `{\"type\":\"resync\",\"reason\",\"cursor\"}` when that cannot be replayed (refetch \
        over HTTP). A revoked session's socket is closed with code 4001.",
    params(
        ("access_token" = Option<String>, Query, description = "The access token, for clients that cannot set headers"),
        ResumeQuery),
    responses(
        (status = 101, description = "Switched to the WebSocket protocol"),
        (status = 400, description = "Not a WebSocket upgrade request", body = crate::openapi::responses::ErrorBody),
        (status = 429, description = "The user holds the maximum of sockets (`too_many_connections`)", body = crate::openapi::responses::ErrorBody),
        crate::openapi::responses::Unauthenticated,
        crate::openapi::responses::ServerErrors))]
pub async fn connect(
    State(ctx): State<Context>,
    caller: CurrentUser,
    fechatter_http::Query(resume): fechatter_http::Query<ResumeQuery>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, AppError> {
    let upgrade = upgrade.map_err(|rejection| {
        AppError::bad_request("websocket_upgrade_required", rejection.body_text())
    })?;
    let left = u64::try_from(caller.expires_at - chrono::Utc::now().timestamp()).unwrap_or(0);
    let live = ctx
        .sockets
        .push()
        .open(Opening {
            user: caller.id,
            workspace: caller.workspace_id,
            session: caller.session_id,
            token_expires: tokio::time::Instant::now() + Duration::from_secs(left),
            resume: Resume::parse(resume.cursor.as_deref()),
        })
        .map_err(|refused| match refused {
            Refused::SessionRevoked => AppError::SessionRevoked,
            Refused::TooManyConnections(_) => AppError::TooManyConnections(refused.to_string()),
            Refused::OverCapacity(_) | Refused::ShuttingDown | Refused::NotReady => {
                AppError::DependencyUnavailable(refused.to_string())
            }
        })?;
    let settings = ctx.deps.config().websocket;
    Ok(upgrade
        .max_message_size(settings.max_message_bytes)
        .max_frame_size(settings.max_message_bytes)
        .on_failed_upgrade(|err| tracing::debug!(error = %err, "websocket upgrade failed"))
        .on_upgrade(move |socket| connection::serve(ctx, socket, caller, live)))
}
