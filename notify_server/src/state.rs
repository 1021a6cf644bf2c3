//! The state shared by every handler and background task.

use std::sync::Arc;

use fechatter_auth::TokenKeys;
use fechatter_events::EventBus;

use crate::config::Config;

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    nats: async_nats::Client,
    tokens: TokenKeys,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("NOTIFY_NATS_URL: {0}")]
    Nats(#[from] async_nats::ConnectError),
}

impl AppState {
    /// Builds the state without waiting for NATS, which connects in the background.
    pub async fn try_new(config: Config) -> Result<Self, StateError> {
        let nats =
            fechatter_events::nats::connect(config.nats_url.as_str(), "notify_server").await?;
        let tokens = TokenKeys::new(&config.jwt_secret, fechatter_auth::DEFAULT_ACCESS_TOKEN_TTL);
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                nats,
                tokens,
            }),
        })
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn nats(&self) -> &async_nats::Client {
        &self.inner.nats
    }

    pub fn event_bus(&self) -> &EventBus {
        &self.inner.config.event_bus
    }

    pub fn tokens(&self) -> &TokenKeys {
        &self.inner.tokens
    }
}
