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

use std::net::SocketAddr;

use ::service_kit::Restart;
use ::service_kit::http::HttpMetricsLayer;
use ::service_kit::server::{Service, ServiceServer};
use fechatter_http::RequestTimeoutLayer;
use tokio_util::sync::CancellationToken;

pub use ::service_kit::StartupError;
pub use config::Config;
pub use state::AppState;

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
        // CORS outermost: preflights are answered before routing and not counted as requests.
        let api = routes::router(state.clone())
            .layer(RequestTimeoutLayer::new(runtime.request_timeout))
            .layer(HttpMetricsLayer::new(observability::shared()))
            .layer(state.config().cors_origins.layer());
        let server = ServiceServer::bind(&runtime, api, startup::health(&state), handle)
            .await?
            .with_write_stall_timeout(state.config().sse.write_timeout);
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

    /// Serves until `shutdown` is cancelled; background tasks stop with it.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), StartupError> {
        let health = self.server.health().clone();
        let state = self.state;
        let tasks = self.server.supervisor();
        tasks.run(
            "prepare",
            Restart::OnPanic,
            (state.clone(), health),
            &shutdown,
            |(state, health), shutdown| startup::prepare_then_serve(state, health, shutdown),
        );
        // Reads the log until shutdown, then ends every SSE stream (they never end by themselves,
        // and must for the graceful shutdown to finish).
        let (push, stop) = (state.push().clone(), shutdown.clone());
        tasks.spawn(
            "push_reader",
            Restart::Always,
            shutdown.clone(),
            move || push.clone().run(stop.clone()),
        );
        tasks.run(
            "typing",
            Restart::Always,
            state.clone(),
            &shutdown,
            typing::run,
        );
        self.server.run(shutdown).await?;
        Ok(())
    }
}

impl Service for Application {
    type Config = Config;
    const NAME: &'static str = "notify_server";

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
