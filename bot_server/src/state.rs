//! The state shared by every background task and the health endpoints.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use fechatter_events::EventBus;
use sqlx::PgPool;

use crate::answer_slots::AnswerSlots;
use crate::config::Config;
use crate::embeddings::Embeddings;
use crate::fechatter::FechatterClient;
use crate::identity::Bots;
use crate::llm::LlmClient;
use crate::observability::metrics::NATS;

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    pool: PgPool,
    nats: async_nats::Client,
    jetstream: async_nats::jetstream::Context,
    embeddings: Embeddings,
    llm: Option<LlmClient>,
    fechatter: FechatterClient,
    http: reqwest::Client,
    bots: Bots,
    consumer: ConsumerState,
    answer_slots: AnswerSlots,
}

/// Whether the indexing consumer is subscribed right now.
#[derive(Default)]
pub struct ConsumerState(AtomicBool);

impl ConsumerState {
    pub fn is_subscribed(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    pub fn set_subscribed(&self, subscribed: bool) {
        self.0.store(subscribed, Ordering::SeqCst);
        NATS.active(subscribed);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("BOT_DATABASE_URL: {0}")]
    DatabaseUrl(sqlx::Error),
    #[error("BOT_NATS_URL: {0}")]
    Nats(#[from] async_nats::ConnectError),
    #[error("building the HTTP client: {0}")]
    Http(reqwest::Error),
    #[error("BOT_EMBEDDING_DIMENSIONS: {0}")]
    Embeddings(#[from] fechatter_search::embedding::DimensionsOutOfRange),
}

impl AppState {
    /// Builds the state without waiting for any dependency.
    pub async fn try_new(config: Config) -> Result<Self, StateError> {
        let pool = config
            .database
            .connect_lazy("bot_server")
            .map_err(StateError::DatabaseUrl)?;
        let nats = config.nats.connect("bot_server").await?;
        let jetstream = async_nats::jetstream::new(nats.clone());
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(StateError::Http)?;
        let embeddings = Embeddings::new(&config.embeddings, http.clone())?;
        let llm = config
            .llm
            .clone()
            .map(|settings| LlmClient::new(http.clone(), settings));
        let fechatter = FechatterClient::new(
            http.clone(),
            &config.fechatter_url,
            config.fechatter_api_key.clone(),
        );
        let answer_slots = AnswerSlots::new(
            config.assistant.concurrency,
            config.assistant.workspace_concurrency,
        );
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                pool,
                nats,
                jetstream,
                embeddings,
                llm,
                fechatter,
                http,
                bots: Bots::default(),
                consumer: ConsumerState::default(),
                answer_slots,
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

    pub fn jetstream(&self) -> &async_nats::jetstream::Context {
        &self.inner.jetstream
    }

    pub fn event_bus(&self) -> &EventBus {
        &self.inner.config.event_bus
    }

    pub fn embeddings(&self) -> &Embeddings {
        &self.inner.embeddings
    }

    pub fn llm(&self) -> Option<&LlmClient> {
        self.inner.llm.as_ref()
    }

    pub fn fechatter(&self) -> &FechatterClient {
        &self.inner.fechatter
    }

    /// The shared HTTP client (connection pools), for calls to outside APIs and the probe.
    pub fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    pub fn bots(&self) -> &Bots {
        &self.inner.bots
    }

    pub fn consumer(&self) -> &ConsumerState {
        &self.inner.consumer
    }

    pub fn answer_slots(&self) -> &AnswerSlots {
        &self.inner.answer_slots
    }
}
