//! fechatter_server: the chat API.

pub mod auth;
pub mod cache;
pub mod config;
pub mod db;
pub mod deps;
pub mod error;
pub mod extract;
pub mod handlers;
pub mod models;
pub mod observability;
pub mod openapi;
pub mod outbox;
pub mod rate_limit;
pub mod repo;
pub mod routes;
pub mod send_queue;
pub mod service;
pub mod startup;
pub mod state;
pub mod storage;
pub mod web;
pub mod webhooks;
pub mod ws;

use ::service_kit::http::HttpMetricsLayer;
use ::service_kit::{Drain, MetricDef, Restart, RuntimeConfig, ServiceInfo, ServiceParts, Tasks};
use axum::Router;
use fechatter_http::RequestTimeoutLayer;

pub use ::service_kit::StartupError;
pub use config::Config;
pub use state::AppState;

/// A built, bound fechatter_server that has not started serving yet.
pub type Application = ::service_kit::Application<ChatService>;

/// fechatter_server's parts: the chat API and web client, the outbox relay, the WebSocket push
/// reader and the upkeep tasks.
pub struct ChatService;

impl ServiceParts for ChatService {
    type Config = Config;
    type State = AppState;
    const SERVICE: ServiceInfo = observability::SERVICE;

    fn runtime(config: &Config) -> &RuntimeConfig {
        &config.runtime
    }

    fn catalogue() -> Vec<MetricDef> {
        observability::catalogue()
    }

    fn initialise_metrics(_config: &Config) {
        observability::metrics::initialise();
    }

    async fn build_state(config: Config) -> Result<AppState, StartupError> {
        AppState::try_new(config)
            .await
            .map_err(StartupError::dependency)
    }

    fn api(state: &AppState, runtime: &RuntimeConfig) -> Router {
        let timeouts = RequestTimeoutLayer::new(runtime.request_timeout)
            .route(routes::UPLOAD_ROUTE, state.config().files.upload_timeout);
        let api = routes::router(state.clone())
            .layer(timeouts)
            .layer(HttpMetricsLayer::new(observability::shared()));
        web::with_client(api, &state.config().web)
    }

    fn health(state: &AppState) -> ::service_kit::Health {
        startup::health(state)
    }

    fn start_tasks(state: &AppState, tasks: &Tasks) -> Drain {
        tasks.run(
            "outbox_relay",
            Restart::Always,
            (state.clone(), tasks.health().clone()),
            |(state, health), shutdown| startup::migrate_then_relay(state, health, shutdown),
        );
        let always = Restart::Always;
        tasks.run("gauges", always, state.clone(), startup::sample_gauges);
        tasks.run(
            "cache_follower",
            always,
            state.clone(),
            cache::invalidation::follow,
        );
        tasks.run("rate_limit_sweep", always, state.clone(), rate_limit::sweep);
        tasks.run(
            "file_sweep",
            always,
            state.clone(),
            service::file_sweep::run,
        );
        tasks.run(
            "webhook_deliverer",
            always,
            state.clone(),
            webhooks::deliverer::run,
        );
        tasks.run(
            "session_prune",
            always,
            state.clone(),
            service::sessions::prune_periodically,
        );
        // Reads the event log for the sockets until shutdown, then closes them as going away.
        let (push, stop) = (state.sockets().push().clone(), tasks.shutdown().clone());
        tasks.spawn("push_reader", always, move || {
            push.clone().run(stop.clone())
        });
        Drain::none()
    }
}
