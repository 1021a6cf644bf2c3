//! The state shared by every handler and background task.

use std::sync::Arc;

use fechatter_auth::TokenVerifier;
use fechatter_events::EventBus;
use fechatter_push::PushCore;

use crate::config::Config;
use crate::observability::metrics::PushRecorder;

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    nats: async_nats::Client,
    jetstream: async_nats::jetstream::Context,
    tokens: TokenVerifier,
    push: Arc<PushCore>,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("NOTIFY_NATS_URL: {0}")]
    Nats(#[from] async_nats::ConnectError),
}

impl AppState {
    /// Builds the state without waiting for NATS, which connects in the background.
    pub async fn try_new(config: Config) -> Result<Self, StateError> {
        let nats = config.nats.connect("notify_server").await?;
        let jetstream = async_nats::jetstream::new(nats.clone());
        let tokens = config.tokens.clone();
        let push = PushCore::new(
            nats.clone(),
            config.event_bus.clone(),
            config.push.clone(),
            Arc::new(PushRecorder),
        );
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                nats,
                jetstream,
                tokens,
                push,
            }),
        })
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn nats(&self) -> &async_nats::Client {
        &self.inner.nats
    }

    pub fn jetstream(&self) -> &async_nats::jetstream::Context {
        &self.inner.jetstream
    }

    pub fn event_bus(&self) -> &EventBus {
        &self.inner.config.event_bus
    }

    pub fn tokens(&self) -> &TokenVerifier {
        &self.inner.tokens
    }

    /// The hub, the log reader, replays and presence.
    pub fn push(&self) -> &Arc<PushCore> {
        &self.inner.push
    }
}
