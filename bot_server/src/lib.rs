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

use ::service_kit::{Drain, MetricDef, Restart, RuntimeConfig, ServiceInfo, ServiceParts, Tasks};
use axum::Router;

pub use ::service_kit::StartupError;
pub use config::Config;
pub use state::AppState;

/// A built, bound bot_server that has not started serving yet.
pub type Application = ::service_kit::Application<BotService>;

/// bot_server's parts: no API but the health checks; its work is its consumers and upkeep tasks.
pub struct BotService;

impl ServiceParts for BotService {
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
        observability::metrics::initialise(config.embeddings.dimensions);
    }

    async fn build_state(config: Config) -> Result<AppState, StartupError> {
        AppState::try_new(config)
            .await
            .map_err(StartupError::dependency)
    }

    fn api(_state: &AppState, _runtime: &RuntimeConfig) -> Router {
        Router::new().fallback(fechatter_http::route_not_found)
    }

    fn health(state: &AppState) -> ::service_kit::Health {
        startup::health(state)
    }

    fn start_tasks(state: &AppState, tasks: &Tasks) -> Drain {
        tasks.run(
            "event_stream",
            Restart::OnPanic,
            (state.clone(), tasks.health().clone()),
            |(state, health), shutdown| startup::ensure_stream_then_serve(state, health, shutdown),
        );
        let (once, always) = (Restart::OnPanic, Restart::Always);
        tasks.run("pool_gauges", always, state.clone(), startup::sample_pool);
        tasks.run(
            "bot_provisioning",
            once,
            state.clone(),
            startup::provision_missing_bots,
        );
        tasks.run(
            "index_upkeep",
            always,
            state.clone(),
            startup::maintain_index,
        );
        if let Some(settings) = state.config().probe.clone() {
            let (http, fechatter_url) =
                (state.http().clone(), state.config().fechatter_url.clone());
            let stop = tasks.shutdown().clone();
            // A restart starts from fresh canaries: the probe keeps nothing worth carrying over.
            tasks.spawn("probe", always, move || {
                let probe = probe::Probe::new(http.clone(), &fechatter_url, &settings);
                probe::run(probe, settings.interval, stop.clone())
            });
        }
        tasks.run("consumer_lag", always, state.clone(), consumer::lag::sample);
        let indexing = tasks.run("indexing", always, state.clone(), consumer::indexing::run);
        let answering = tasks.run("answering", always, state.clone(), consumer::answering::run);
        // Events in hand finish (and are acked) before the process exits, whatever stopped it.
        Drain::wait_for(async move {
            let _ = tokio::join!(indexing, answering);
        })
    }
}
