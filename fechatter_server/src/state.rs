//! The state shared by every handler and background task.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use fechatter_auth::TokenSigner;
use fechatter_events::EventBus;
use sqlx::PgPool;

use crate::auth::{Passwords, SigninThrottle};
use crate::cache::Caches;
use crate::config::Config;
use crate::outbox::RelayWaker;
use crate::rate_limit::RateLimiters;
use crate::service::typing::TypingThrottle;
use crate::storage::FileStore;
use crate::ws::WebSockets;

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    pool: PgPool,
    nats: async_nats::Client,
    tokens: TokenSigner,
    passwords: Passwords,
    signin_throttle: SigninThrottle,
    caches: Caches,
    migrated: AtomicBool,
    files: FileStore,
    limiters: RateLimiters,
    sockets: WebSockets,
    typing: TypingThrottle,
    relay_waker: RelayWaker,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("FECHATTER_DATABASE_URL: {0}")]
    DatabaseUrl(sqlx::Error),
    #[error("FECHATTER_NATS_URL: {0}")]
    Nats(#[from] async_nats::ConnectError),
    #[error("FECHATTER_ARGON2_*: {0}")]
    PasswordHashing(argon2::Error),
    #[error("FECHATTER_FILES_DIR: {0}")]
    FilesDir(std::io::Error),
}

impl AppState {
    /// Builds the state without waiting for any dependency: the pool connects lazily and NATS
    /// connects in the background, so the service starts even when both are down.
    pub async fn try_new(config: Config) -> Result<Self, StateError> {
        let pool = config
            .database
            .connect_lazy("fechatter_server")
            .map_err(StateError::DatabaseUrl)?;
        let nats = config.nats.connect("fechatter_server").await?;
        let tokens = config.auth.tokens.clone();
        let passwords =
            Passwords::new(config.password_hashing).map_err(StateError::PasswordHashing)?;
        let signin_throttle = SigninThrottle::new(config.auth.signin_attempts_per_account_per_hour);
        let caches = Caches::new(config.cache, config.page_cache);
        let files = FileStore::open(&config.files.dir).map_err(StateError::FilesDir)?;
        let limiters = RateLimiters::new(&config.rate_limits);
        let sockets = WebSockets::new(
            nats.clone(),
            config.event_bus.clone(),
            &config.websocket,
            tokens.ttl(),
        );
        // The page cache follows the sockets' log reader: every event it reads, every gap.
        sockets.push().observe(Arc::new(caches.pages.clone()));
        let typing = TypingThrottle::new(config.websocket.typing_throttle);
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                pool,
                nats,
                tokens,
                passwords,
                signin_throttle,
                caches,
                migrated: AtomicBool::new(false),
                files,
                limiters,
                sockets,
                typing,
                relay_waker: RelayWaker::default(),
            }),
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

    pub fn tokens(&self) -> &TokenSigner {
        &self.inner.tokens
    }

    pub fn passwords(&self) -> &Passwords {
        &self.inner.passwords
    }

    pub fn signin_throttle(&self) -> &SigninThrottle {
        &self.inner.signin_throttle
    }

    pub fn caches(&self) -> &Caches {
        &self.inner.caches
    }

    pub fn files(&self) -> &FileStore {
        &self.inner.files
    }

    pub fn limiters(&self) -> &RateLimiters {
        &self.inner.limiters
    }

    pub fn sockets(&self) -> &WebSockets {
        &self.inner.sockets
    }

    /// The throttle of typing signals sent over HTTP.
    pub fn typing(&self) -> &TypingThrottle {
        &self.inner.typing
    }

    /// Wakes this instance's outbox relay after a commit that wrote events.
    pub fn relay_waker(&self) -> &RelayWaker {
        &self.inner.relay_waker
    }

    /// Whether the schema migrations have been applied since start-up.
    pub fn is_migrated(&self) -> bool {
        self.inner.migrated.load(Ordering::SeqCst)
    }

    pub(crate) fn set_migrated(&self) {
        self.inner.migrated.store(true, Ordering::SeqCst);
    }
}

impl crate::webhooks::deliverer::Context for AppState {
    fn pool(&self) -> &sqlx::PgPool {
        AppState::pool(self)
    }

    fn is_migrated(&self) -> bool {
        AppState::is_migrated(self)
    }

    fn settings(&self) -> crate::config::WebhookSettings {
        self.config().webhooks
    }
}
