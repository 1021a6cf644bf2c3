//! The state shared by every background task and the health endpoints.

use std::sync::Arc;
use std::time::Duration;

use fechatter_events::EventBus;
use secrecy::ExposeSecret;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::config::Config;

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    pool: PgPool,
    nats: async_nats::Client,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("BOT_DATABASE_URL: {0}")]
    DatabaseUrl(sqlx::Error),
    #[error("BOT_NATS_URL: {0}")]
    Nats(#[from] async_nats::ConnectError),
}

impl AppState {
    /// Builds the state without waiting for any dependency.
    pub async fn try_new(config: Config) -> Result<Self, StateError> {
        let options: PgConnectOptions = config
            .database_url
            .expose_secret()
            .parse()
            .map_err(StateError::DatabaseUrl)?;
        let pool = PgPoolOptions::new()
            .max_connections(config.database_max_connections)
            .acquire_timeout(Duration::from_secs(2))
            .connect_lazy_with(options.application_name("bot_server"));
        let nats = fechatter_events::nats::connect(config.nats_url.as_str(), "bot_server").await?;
        Ok(Self {
            inner: Arc::new(Inner { config, pool, nats }),
        })
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    pub fn nats(&self) -> &async_nats::Client {
        &self.inner.nats
    }

    pub fn event_bus(&self) -> &EventBus {
        &self.inner.config.event_bus
    }
}
