//! analytics_server: client and domain events into ClickHouse, sessions and reports.

pub mod auth;
pub mod buffer;
pub mod client_stream;
pub mod config;
pub mod error;
pub mod events;
pub mod gauges;
pub mod ingest;
pub mod limits;
pub mod observability;
pub mod reports;
pub mod routes;
pub mod sessions;
pub mod sql_catalogue;
pub mod startup;
pub mod state;
pub mod store;

use std::time::Duration;

use ::service_kit::http::HttpMetricsLayer;
use ::service_kit::{Drain, MetricDef, Restart, RuntimeConfig, ServiceInfo, ServiceParts, Tasks};
use axum::Router;
use fechatter_http::RequestTimeoutLayer;
use tokio_util::sync::CancellationToken;

pub use ::service_kit::StartupError;
pub use config::Config;
pub use state::AppState;

/// How long shutting down may keep trying to write what is still buffered.
const FINAL_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// A built, bound analytics_server that has not started serving yet.
pub type Application = ::service_kit::Application<AnalyticsService>;

/// analytics_server's parts: its ingest and report API, the buffer's writer and the consumers.
pub struct AnalyticsService;

impl ServiceParts for AnalyticsService {
    type Config = Config;
    type State = AppState;
    const SERVICE: ServiceInfo = observability::SERVICE;

    fn runtime(config: &Config) -> &RuntimeConfig {
        &config.runtime
    }

    fn catalogue() -> Vec<MetricDef> {
        observability::catalogue()
    }

    fn initialise_metrics(config: &Config) {
        observability::metrics::init(config.writer.buffer_capacity);
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

    /// The buffer is flushed last, after the API stopped accepting events.
    fn start_tasks(state: &AppState, tasks: &Tasks) -> Drain {
        tasks.run(
            "clickhouse_schema",
            Restart::OnPanic,
            (state.clone(), tasks.health().clone()),
            |(state, health), shutdown| startup::prepare_then_serve(state, health, shutdown),
        );
        let stop_writing = CancellationToken::new();
        let flusher = tasks.supervisor().run(
            "writer",
            Restart::Always,
            state.clone(),
            &stop_writing,
            |state, stop| {
                buffer::flusher::Flusher {
                    buffer: state.buffer().clone(),
                    store: state.store().clone(),
                    gate: state.clickhouse_gate().clone(),
                    interval: state.config().writer.flush_interval,
                    final_flush_timeout: FINAL_FLUSH_TIMEOUT,
                }
                .run(stop)
            },
        );
        let always = Restart::Always;
        let domain = tasks.run(
            "domain_events",
            always,
            state.clone(),
            ingest::consumer::run,
        );
        let client = tasks.run(
            "client_events",
            always,
            state.clone(),
            ingest::client_consumer::run,
        );
        tasks.run(
            "session_expiry",
            always,
            state.clone(),
            |state, shutdown| state.sessions().clone().run_expiry(shutdown),
        );
        tasks.run(
            "ingest_limits_sweep",
            always,
            state.limits().clone(),
            limits::sweep,
        );
        tasks.run(
            "session_revocations",
            always,
            state.clone(),
            |state, shutdown| async move {
                let config = state.config();
                state
                    .revoked()
                    .clone()
                    .follow_on_own_connection(
                        config.nats.url.as_str(),
                        "analytics_server_revocations",
                        &config.nats.auth,
                        config.event_bus.clone(),
                        shutdown,
                    )
                    .await;
            },
        );
        Drain::wait_for(async move {
            stop_writing.cancel();
            let stopped = async {
                let _ = flusher.await;
                let _ = tokio::join!(domain, client);
            };
            if tokio::time::timeout(FINAL_FLUSH_TIMEOUT * 2, stopped)
                .await
                .is_err()
            {
                tracing::warn!("background tasks did not stop in time");
            }
        })
    }
}
