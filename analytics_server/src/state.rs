//! The state shared by every handler and background task.

use std::sync::Arc;

use fechatter_auth::TokenVerifier;
use fechatter_auth::revocation::RevokedSessions;
use fechatter_events::EventBus;
use secrecy::ExposeSecret;

use crate::buffer::Buffer;
use crate::config::Config;
use crate::limits::IngestLimits;
use crate::observability::metrics::ClickHouseMetrics;
use crate::sessions::Sessions;
use crate::store::{Store, StoreError};

/// Live sessions tracked at most (beyond it new sessions are not counted in the gauge).
const MAX_TRACKED_SESSIONS: usize = 100_000;

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    /// Bound to the analytics database.
    clickhouse: clickhouse::Client,
    /// Bound to no database, for creating it.
    clickhouse_server: clickhouse::Client,
    store: Store,
    nats: async_nats::Client,
    tokens: TokenVerifier,
    revoked: RevokedSessions,
    limits: IngestLimits,
    buffer: Buffer,
    sessions: Sessions,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("ANALYTICS_NATS_URL: {0}")]
    Nats(#[from] async_nats::ConnectError),
}

impl AppState {
    /// Builds the state without waiting for any dependency (the ClickHouse client is plain HTTP
    /// and connects per request).
    pub async fn try_new(config: Config) -> Result<Self, StateError> {
        // Validation off: ClickHouse 18.16 knows neither RowBinaryWithNamesAndTypes nor the
        // setting the crate's insert validation sends.
        let clickhouse_server = clickhouse::Client::default()
            .with_url(config.clickhouse_url.as_str())
            .with_user(config.clickhouse_user.clone())
            .with_password(config.clickhouse_password.expose_secret().to_owned())
            .with_validation(false);
        let clickhouse = clickhouse_server
            .clone()
            .with_database(config.clickhouse_database.clone());
        let nats = fechatter_events::nats::connect_as(
            config.nats_url.as_str(),
            "analytics_server",
            &config.nats_auth,
        )
        .await?;
        let tokens = config.tokens.clone();
        let limits = IngestLimits::new(&config.rate_limits);
        let store = Store::new(clickhouse.clone(), config.writer.clickhouse_timeout);
        let buffer = Buffer::new(
            config.writer.buffer_capacity,
            config.writer.flush_max_rows,
            config.writer.dedup_window,
        );
        let sessions = Sessions::new(config.session_timeout, MAX_TRACKED_SESSIONS);
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                clickhouse,
                clickhouse_server,
                store,
                nats,
                tokens,
                revoked: RevokedSessions::new(fechatter_auth::DEFAULT_ACCESS_TOKEN_TTL),
                limits,
                buffer,
                sessions,
            }),
        })
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn clickhouse(&self) -> &clickhouse::Client {
        &self.inner.clickhouse
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn buffer(&self) -> &Buffer {
        &self.inner.buffer
    }

    pub fn sessions(&self) -> &Sessions {
        &self.inner.sessions
    }

    pub fn nats(&self) -> &async_nats::Client {
        &self.inner.nats
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

    pub fn limits(&self) -> &IngestLimits {
        &self.inner.limits
    }

    /// Creates the analytics database if it does not exist.
    pub async fn create_database(&self) -> Result<(), clickhouse::error::Error> {
        let sql = format!(
            "CREATE DATABASE IF NOT EXISTS {}",
            self.inner.config.clickhouse_database
        );
        self.inner.clickhouse_server.query(&sql).execute().await
    }

    /// Creates the database, then the tables; safe to repeat.
    pub async fn prepare_clickhouse(&self) -> Result<(), StoreError> {
        let timeout = self.inner.config.writer.clickhouse_timeout;
        let created = match tokio::time::timeout(timeout, self.create_database()).await {
            Ok(outcome) => outcome.map_err(StoreError::from),
            Err(_) => Err(StoreError::Timeout(timeout)),
        };
        if created.is_err() {
            ClickHouseMetrics::failed("schema");
        }
        created?;
        self.inner.store.ensure_schema().await
    }
}
