//! notify_server: live push of domain events over SSE.

pub mod auth;
pub mod config;
pub mod connection;
pub mod error;
pub mod handlers;
pub mod observability;
pub mod routes;
pub mod startup;
pub mod state;
pub mod typing;

use std::time::Duration;

use ::service_kit::http::HttpMetricsLayer;
use ::service_kit::{Drain, MetricDef, Restart, RuntimeConfig, ServiceInfo, ServiceParts, Tasks};
use axum::Router;
use fechatter_http::RequestTimeoutLayer;

pub use ::service_kit::StartupError;
pub use config::Config;
pub use state::AppState;

/// A built, bound notify_server that has not started serving yet.
pub type Application = ::service_kit::Application<NotifyService>;

/// notify_server's parts: its SSE API, the push reader and the typing fan-out.
pub struct NotifyService;

impl ServiceParts for NotifyService {
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
        // CORS outermost: preflights are answered before routing and not counted as requests.
        routes::router(state.clone())
            .layer(RequestTimeoutLayer::new(runtime.request_timeout))
            .layer(HttpMetricsLayer::new(observability::shared()))
            .layer(state.config().cors_origins.layer())
    }

    fn health(state: &AppState) -> ::service_kit::Health {
        startup::health(state)
    }

    fn write_stall_timeout(state: &AppState) -> Option<Duration> {
        Some(state.config().sse.write_timeout)
    }

    fn start_tasks(state: &AppState, tasks: &Tasks) -> Drain {
        tasks.run(
            "prepare",
            Restart::OnPanic,
            (state.clone(), tasks.health().clone()),
            |(state, health), shutdown| startup::prepare_then_serve(state, health, shutdown),
        );
        // Reads the log until shutdown, then ends every SSE stream (they never end by themselves,
        // and must for the graceful shutdown to finish).
        let (push, stop) = (state.push().clone(), tasks.shutdown().clone());
        tasks.spawn("push_reader", Restart::Always, move || {
            push.clone().run(stop.clone())
        });
        tasks.run("typing", Restart::Always, state.clone(), typing::run);
        Drain::none()
    }
}
