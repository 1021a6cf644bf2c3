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
pub mod service;
pub mod startup;
pub mod state;
pub mod storage;
pub mod web;
pub mod webhooks;
pub mod ws;

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
        let timeouts = RequestTimeoutLayer::new(runtime.request_timeout)
            .route(routes::UPLOAD_ROUTE, state.config().files.upload_timeout);
        let api = routes::router(state.clone())
            .layer(timeouts)
            .layer(HttpMetricsLayer::new(observability::shared()));
        let api = web::with_client(api, &state.config().web);
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
            "outbox_relay",
            Restart::Always,
            (state.clone(), health),
            &shutdown,
            |(state, health), shutdown| startup::migrate_then_relay(state, health, shutdown),
        );
        let always = Restart::Always;
        tasks.run(
            "gauges",
            always,
            state.clone(),
            &shutdown,
            startup::sample_gauges,
        );
        tasks.run(
            "cache_follower",
            always,
            state.clone(),
            &shutdown,
            cache::invalidation::follow,
        );
        tasks.run(
            "rate_limit_sweep",
            always,
            state.clone(),
            &shutdown,
            rate_limit::sweep,
        );
        tasks.run(
            "file_sweep",
            always,
            state.clone(),
            &shutdown,
            service::file_sweep::run,
        );
        tasks.run(
            "webhook_deliverer",
            always,
            state.clone(),
            &shutdown,
            webhooks::deliverer::run,
        );
        tasks.run(
            "session_prune",
            always,
            state.clone(),
            &shutdown,
            service::sessions::prune_periodically,
        );
        // Reads the event log for the sockets until shutdown, then closes them as going away.
        let (push, stop) = (state.sockets().push().clone(), shutdown.clone());
        tasks.spawn("push_reader", always, shutdown.clone(), move || {
            push.clone().run(stop.clone())
        });
        self.server.run(shutdown).await?;
        Ok(())
    }
}

impl Service for Application {
    type Config = Config;
    const NAME: &'static str = "fechatter_server";

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
