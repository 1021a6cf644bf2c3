//! analytics_server: client and domain events into ClickHouse, sessions and reports.

pub mod auth;
pub mod buffer;
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

use std::net::SocketAddr;
use std::time::Duration;

use ::service_kit::Restart;
use ::service_kit::http::HttpMetricsLayer;
use ::service_kit::server::{Service, ServiceServer};
use fechatter_http::RequestTimeoutLayer;
use tokio_util::sync::CancellationToken;

pub use ::service_kit::StartupError;
pub use config::Config;
pub use state::AppState;

/// How long shutting down may keep trying to write what is still buffered.
const FINAL_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// A built, bound service that has not started serving yet.
pub struct Application {
    server: ServiceServer,
    state: AppState,
}

impl Application {
    /// Binds the ports (0 picks a free one) and builds the state; never waits for a dependency.
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let handle = observability::install()?;
        let runtime = config.runtime.clone();
        let state = AppState::try_new(config)
            .await
            .map_err(StartupError::dependency)?;
        observability::metrics::init(state.buffer().capacity());
        // CORS outermost: preflights are answered before routing and not counted as requests.
        let api = routes::router(state.clone())
            .layer(RequestTimeoutLayer::new(runtime.request_timeout))
            .layer(HttpMetricsLayer::new(observability::shared()))
            .layer(state.config().cors_origins.layer());
        let server = ServiceServer::bind(&runtime, api, startup::health(&state), handle).await?;
        Ok(Self { server, state })
    }

    pub fn api_addr(&self) -> SocketAddr {
        self.server.api_addr()
    }

    pub fn metrics_addr(&self) -> SocketAddr {
        self.server.metrics_addr()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Where the background tasks run (in-process tests use it to make one panic).
    pub fn supervisor(&self) -> ::service_kit::Supervisor {
        self.server.supervisor().clone()
    }

    /// Serves until `shutdown` is cancelled; background tasks stop with it. The buffer is flushed
    /// last, after the API stopped accepting events.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), StartupError> {
        let health = self.server.health().clone();
        let state = self.state;
        let tasks = self.server.supervisor().clone();
        tasks.run(
            "clickhouse_schema",
            Restart::OnPanic,
            (state.clone(), health),
            &shutdown,
            |(state, health), shutdown| startup::prepare_then_serve(state, health, shutdown),
        );
        let stop_writing = CancellationToken::new();
        let flusher = tasks.run(
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
            &shutdown,
            ingest::consumer::run,
        );
        let client = tasks.run(
            "client_events",
            always,
            state.clone(),
            &shutdown,
            ingest::client_consumer::run,
        );
        tasks.run(
            "session_expiry",
            always,
            state.clone(),
            &shutdown,
            |state, shutdown| state.sessions().clone().run_expiry(shutdown),
        );
        tasks.run(
            "ingest_limits_sweep",
            always,
            state.clone(),
            &shutdown,
            limits::sweep,
        );
        tasks.run(
            "session_revocations",
            always,
            state.clone(),
            &shutdown,
            |state, shutdown| async move {
                let config = state.config();
                state
                    .revoked()
                    .clone()
                    .follow_on_own_connection(
                        config.nats_url.as_str(),
                        "analytics_server_revocations",
                        &config.nats_auth,
                        config.event_bus.clone(),
                        shutdown,
                    )
                    .await;
            },
        );
        let served = self.server.run(shutdown).await;
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
        served?;
        Ok(())
    }
}

impl Service for Application {
    type Config = Config;
    const NAME: &'static str = "analytics_server";

    fn runtime(config: &Config) -> &::service_kit::RuntimeConfig {
        &config.runtime
    }

    async fn build(config: Config) -> Result<Self, StartupError> {
        Application::build(config).await
    }

    async fn run(self, shutdown: CancellationToken) -> Result<(), StartupError> {
        Application::run(self, shutdown).await
    }
}
