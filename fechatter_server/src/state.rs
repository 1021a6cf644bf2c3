//! The composition root: builds every component once and hands each handler, extractor and task
//! the pieces it takes (axum substates, `FromRef`). Only this module, `routes`, `startup` and the
//! crate root name `AppState`.

use std::sync::Arc;

use axum::extract::FromRef;
use fechatter_auth::TokenSigner;
use fechatter_events::EventBus;
use sqlx::PgPool;

use crate::auth::{Passwords, SigninThrottle};
use crate::cache::Caches;
use crate::config::Config;
use crate::db::Migrated;
use crate::deps::Deps;
use crate::outbox::RelayWaker;
use crate::rate_limit::RateLimiters;
use crate::send_queue::SendQueue;
use crate::service::typing::TypingThrottle;
use crate::storage::FileStore;
use crate::ws::WebSockets;

/// The composition root: every component, built once. Nothing below it names `AppState`; each
/// handler, extractor and task takes the pieces it uses (`FromRef` substates below).
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    deps: Deps,
    nats: async_nats::Client,
    passwords: Passwords,
    signin_throttle: Arc<SigninThrottle>,
    migrated: Migrated,
    files: FileStore,
    limiters: Arc<RateLimiters>,
    sockets: Arc<WebSockets>,
    typing: Arc<TypingThrottle>,
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
        let sends = SendQueue::start(pool.clone(), config.send_batches);
        Ok(Self {
            inner: Arc::new(Inner {
                deps: Deps::new(config, pool, tokens, caches, RelayWaker::default(), sends),
                nats,
                passwords,
                signin_throttle: Arc::new(signin_throttle),
                migrated: Migrated::default(),
                files,
                limiters: Arc::new(limiters),
                sockets: Arc::new(sockets),
                typing: Arc::new(typing),
            }),
        })
    }

    pub fn deps(&self) -> &Deps {
        &self.inner.deps
    }

    pub fn config(&self) -> &Config {
        self.inner.deps.config()
    }

    pub fn pool(&self) -> &PgPool {
        self.inner.deps.pool()
    }

    pub fn nats(&self) -> &async_nats::Client {
        &self.inner.nats
    }

    pub fn event_bus(&self) -> &EventBus {
        self.inner.deps.event_bus()
    }

    pub fn tokens(&self) -> &TokenSigner {
        self.inner.deps.tokens()
    }

    pub fn passwords(&self) -> &Passwords {
        &self.inner.passwords
    }

    pub fn signin_throttle(&self) -> &SigninThrottle {
        &self.inner.signin_throttle
    }

    pub fn caches(&self) -> &Caches {
        self.inner.deps.caches()
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
        self.inner.deps.relay_waker()
    }

    /// Whether the schema migrations have been applied since start-up.
    pub fn is_migrated(&self) -> bool {
        self.inner.migrated.is_set()
    }

    pub(crate) fn set_migrated(&self) {
        self.inner.migrated.set();
    }
}

/// Substates: a handler or task names the piece it takes (`State<Deps>`), never `AppState`.
macro_rules! substate {
    ($($piece:ty => |$state:ident| $get:expr;)*) => {
        $(impl FromRef<AppState> for $piece {
            fn from_ref($state: &AppState) -> Self {
                $get.clone()
            }
        })*
    };
}

substate! {
    Deps => |state| state.inner.deps;
    PgPool => |state| state.pool();
    Caches => |state| state.caches();
    async_nats::Client => |state| state.inner.nats;
    Passwords => |state| state.inner.passwords;
    Arc<SigninThrottle> => |state| state.inner.signin_throttle;
    Migrated => |state| state.inner.migrated;
    FileStore => |state| state.inner.files;
    Arc<RateLimiters> => |state| state.inner.limiters;
    Arc<TypingThrottle> => |state| state.inner.typing;
}

impl FromRef<AppState> for crate::ws::Context {
    fn from_ref(state: &AppState) -> Self {
        crate::ws::Context {
            deps: state.inner.deps.clone(),
            sockets: state.inner.sockets.clone(),
            limiters: state.inner.limiters.clone(),
            nats: state.inner.nats.clone(),
        }
    }
}

/// The periodic sweep forgets lapsed entries of every in-memory per-key throttle.
impl crate::rate_limit::Sweep for AppState {
    fn sweep(&self) {
        self.limiters().sweep();
        self.sockets().sweep();
        self.typing().sweep();
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
