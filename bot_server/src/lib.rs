//! bot_server: indexes messages for search, computes embeddings, and answers as the assistant.
//! Its only HTTP endpoints are the health checks; its work arrives from the durable JetStream
//! consumers `bot` and `bot_assistant` ([`consumer`]) and its replies leave through
//! fechatter_server's API ([`fechatter`]).

pub mod answer_slots;
pub mod assistant;
pub mod config;
pub mod consumer;
pub mod db;
pub mod embeddings;
pub mod events;
pub mod fechatter;
pub mod handling;
pub mod identity;
pub mod index;
pub mod llm;
pub mod observability;
pub mod probe;
pub mod repo;
pub mod startup;
pub mod state;

use std::net::SocketAddr;

use ::service_kit::Restart;
use ::service_kit::server::{Service, ServiceServer};
use axum::Router;
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
        observability::metrics::initialise(config.embeddings.dimensions);
        let runtime = config.runtime.clone();
        let state = AppState::try_new(config)
            .await
            .map_err(StartupError::dependency)?;
        let api = Router::new().fallback(fechatter_http::route_not_found);
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

    /// Serves until `shutdown` is cancelled; background tasks stop with it.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), StartupError> {
        let health = self.server.health().clone();
        let state = self.state;
        let tasks = self.server.supervisor();
        tasks.run(
            "event_stream",
            Restart::OnPanic,
            (state.clone(), health),
            &shutdown,
            |(state, health), shutdown| startup::ensure_stream_then_serve(state, health, shutdown),
        );
        let (once, always) = (Restart::OnPanic, Restart::Always);
        tasks.run(
            "pool_gauges",
            always,
            state.clone(),
            &shutdown,
            startup::sample_pool,
        );
        tasks.run(
            "bot_provisioning",
            once,
            state.clone(),
            &shutdown,
            startup::provision_missing_bots,
        );
        tasks.run(
            "index_upkeep",
            always,
            state.clone(),
            &shutdown,
            startup::maintain_index,
        );
        if let Some(settings) = state.config().probe.clone() {
            let (http, fechatter_url) =
                (state.http().clone(), state.config().fechatter_url.clone());
            let stop = shutdown.clone();
            // A restart starts from fresh canaries: the probe keeps nothing worth carrying over.
            tasks.spawn("probe", always, shutdown.clone(), move || {
                let probe = probe::Probe::new(http.clone(), &fechatter_url, &settings);
                probe::run(probe, settings.interval, stop.clone())
            });
        }
        tasks.run(
            "consumer_lag",
            always,
            state.clone(),
            &shutdown,
            consumer::lag::sample,
        );
        let indexing = tasks.run(
            "indexing",
            always,
            state.clone(),
            &shutdown,
            consumer::indexing::run,
        );
        let answering = tasks.run(
            "answering",
            always,
            state.clone(),
            &shutdown,
            consumer::answering::run,
        );
        let served = self.server.run(shutdown.clone()).await;
        // Events in hand finish (and are acked) before the process exits, whatever stopped it.
        shutdown.cancel();
        let _ = tokio::join!(indexing, answering);
        served?;
        Ok(())
    }
}

impl Service for Application {
    type Config = Config;
    const NAME: &'static str = "bot_server";

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
