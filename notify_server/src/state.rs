//! The state shared by every handler and background task.

use std::sync::Arc;

use fechatter_auth::TokenVerifier;
use fechatter_auth::revocation::RevokedSessions;
use fechatter_events::EventBus;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::consumer::ConsumerState;
use crate::hub::Hub;
use crate::replay::Replayer;

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    nats: async_nats::Client,
    jetstream: async_nats::jetstream::Context,
    tokens: TokenVerifier,
    revoked: RevokedSessions,
    hub: Arc<Hub>,
    consumer: ConsumerState,
    replayer: Arc<Replayer>,
    /// Cancelled on shutdown so SSE streams end and the server's graceful shutdown can finish.
    closing: CancellationToken,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("NOTIFY_NATS_URL: {0}")]
    Nats(#[from] async_nats::ConnectError),
}

impl AppState {
    /// Builds the state without waiting for NATS, which connects in the background.
    pub async fn try_new(config: Config) -> Result<Self, StateError> {
        let nats = fechatter_events::nats::connect_as(
            config.nats_url.as_str(),
            "notify_server",
            &config.nats_auth,
        )
        .await?;
        let jetstream = async_nats::jetstream::new(nats.clone());
        let tokens = config.tokens.clone();
        let replayer = Arc::new(Replayer {
            jetstream: jetstream.clone(),
            bus: config.event_bus.clone(),
            limits: config.replay.clone(),
        });
        Ok(Self {
            inner: Arc::new(Inner {
                hub: Arc::new(Hub::new(config.sse.buffer, config.sse.max_connections)),
                config,
                nats,
                jetstream,
                tokens,
                revoked: RevokedSessions::new(fechatter_auth::DEFAULT_ACCESS_TOKEN_TTL),
                consumer: ConsumerState::default(),
                replayer,
                closing: CancellationToken::new(),
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

    /// The sessions revoked in the last token lifetime (`session.revoked`).
    pub fn revoked(&self) -> &RevokedSessions {
        &self.inner.revoked
    }

    pub fn hub(&self) -> &Arc<Hub> {
        &self.inner.hub
    }

    pub fn consumer(&self) -> &ConsumerState {
        &self.inner.consumer
    }

    pub fn replayer(&self) -> &Arc<Replayer> {
        &self.inner.replayer
    }

    pub fn closing(&self) -> &CancellationToken {
        &self.inner.closing
    }
}
