//! What the use cases, the request extractors and the WebSocket commands share: the settings, the
//! database, the token signer, the caches in front of the database, the queue of plain sends and
//! the outbox relay's wake-up.
//! Built once by the composition root (`state.rs`); handlers take it as an axum substate
//! (`State<Deps>`). Pieces only a few use cases need (passwords, the file store, the limiters,
//! NATS) are not here: those use cases take them as arguments of their own.

use std::sync::Arc;

use fechatter_auth::TokenSigner;
use fechatter_events::EventBus;
use sqlx::PgPool;

use crate::cache::Caches;
use crate::config::Config;
use crate::outbox::RelayWaker;
use crate::send_queue::SendQueue;

#[derive(Clone)]
pub struct Deps {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    pool: PgPool,
    tokens: TokenSigner,
    caches: Caches,
    relay_waker: RelayWaker,
    sends: SendQueue,
}

impl Deps {
    pub fn new(
        config: Config,
        pool: PgPool,
        tokens: TokenSigner,
        caches: Caches,
        relay_waker: RelayWaker,
        sends: SendQueue,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                pool,
                tokens,
                caches,
                relay_waker,
                sends,
            }),
        }
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    pub fn event_bus(&self) -> &EventBus {
        &self.inner.config.event_bus
    }

    pub fn tokens(&self) -> &TokenSigner {
        &self.inner.tokens
    }

    pub fn caches(&self) -> &Caches {
        &self.inner.caches
    }

    /// Where plain messages wait to be written together.
    pub fn sends(&self) -> &SendQueue {
        &self.inner.sends
    }

    /// Wakes this instance's outbox relay after a commit that wrote events.
    pub fn relay_waker(&self) -> &RelayWaker {
        &self.inner.relay_waker
    }
}
