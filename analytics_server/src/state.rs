//! The state shared by every handler and background task.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::FromRef;
use fechatter_auth::revocation::RevokedSessions;
use fechatter_events::EventBus;
use fechatter_events::delivery::Gate;
use secrecy::ExposeSecret;

use crate::auth::Authenticator;
use crate::buffer::Buffer;
use crate::client_stream;
use crate::config::Config;
use crate::events::EventRow;
use crate::limits::IngestLimits;
use crate::observability::metrics::{ClickHouseMetrics, NatsMetrics};
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
    jetstream: async_nats::jetstream::Context,
    /// Whether the client-event stream is known to exist (checked again after a failure).
    client_stream_ready: AtomicBool,
    authenticator: Authenticator,
    limits: Arc<IngestLimits>,
    buffer: Buffer,
    sessions: Sessions,
    /// Open while ClickHouse takes writes; the consumers take events only then.
    clickhouse_gate: Gate,
    subscriptions: Subscriptions,
}

/// Which of the two durable consumers is pulling; `analytics_nats_subscription_active` is 1 only
/// while both are.
#[derive(Default)]
pub struct Subscriptions {
    domain: AtomicBool,
    client: AtomicBool,
}

impl Subscriptions {
    pub fn domain(&self, active: bool) {
        self.domain.store(active, Ordering::SeqCst);
        self.publish();
    }

    pub fn client(&self, active: bool) {
        self.client.store(active, Ordering::SeqCst);
        self.publish();
    }

    fn publish(&self) {
        NatsMetrics::subscription_active(
            self.domain.load(Ordering::SeqCst) && self.client.load(Ordering::SeqCst),
        );
    }
}

/// How long the gate's probe waits for ClickHouse.
const GATE_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

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
        let nats = config.nats.connect("analytics_server").await?;
        let authenticator = Authenticator::new(
            config.tokens.clone(),
            RevokedSessions::new(fechatter_auth::DEFAULT_ACCESS_TOKEN_TTL),
        );
        let limits = Arc::new(IngestLimits::new(&config.rate_limits));
        let store = Store::new(clickhouse.clone(), config.writer.clickhouse_timeout);
        let buffer = Buffer::new(
            config.writer.buffer_capacity,
            config.writer.flush_max_rows,
            config.writer.dedup_window,
        );
        let sessions = Sessions::new(config.session_timeout, MAX_TRACKED_SESSIONS);
        let probe = clickhouse.clone();
        let clickhouse_gate = Gate::new("clickhouse", move || {
            let probe = probe.clone();
            async move { crate::store::ping(&probe, GATE_PROBE_TIMEOUT).await }
        });
        let jetstream = async_nats::jetstream::new(nats.clone());
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                clickhouse,
                clickhouse_server,
                store,
                nats,
                jetstream,
                client_stream_ready: AtomicBool::new(false),
                authenticator,
                limits,
                buffer,
                sessions,
                clickhouse_gate,
                subscriptions: Subscriptions::default(),
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

    pub fn jetstream(&self) -> &async_nats::jetstream::Context {
        &self.inner.jetstream
    }

    pub fn clickhouse_gate(&self) -> &Gate {
        &self.inner.clickhouse_gate
    }

    pub fn subscriptions(&self) -> &Subscriptions {
        &self.inner.subscriptions
    }

    /// Stores accepted client events in their stream (see [`client_stream`]); the stream is created the
    /// first time, and checked again after a failure.
    pub async fn store_client_events(
        &self,
        rows: &[EventRow],
    ) -> Result<(), client_stream::StoreError> {
        let inner = &self.inner;
        let bus = &inner.config.event_bus;
        if inner.nats.connection_state() != async_nats::connection::State::Connected {
            // Publishing now would wait for the ack timeout: refuse at once instead.
            return Err(client_stream::StoreError::NotStored(
                "NATS is not connected".to_owned(),
            ));
        }
        if !inner.client_stream_ready.load(Ordering::SeqCst) {
            bus.ensure_client_event_stream(&inner.jetstream)
                .await
                .map_err(|err| client_stream::StoreError::NotStored(err.to_string()))?;
            inner.client_stream_ready.store(true, Ordering::SeqCst);
        }
        let outcome =
            client_stream::store(&inner.jetstream, &bus.client_event_subject(), rows).await;
        if outcome.is_err() {
            inner.client_stream_ready.store(false, Ordering::SeqCst);
        }
        outcome
    }

    pub fn event_bus(&self) -> &EventBus {
        &self.inner.config.event_bus
    }

    /// The sessions revoked in the last token lifetime (`session.revoked`).
    pub fn revoked(&self) -> &RevokedSessions {
        self.inner.authenticator.revoked()
    }

    pub fn limits(&self) -> &Arc<IngestLimits> {
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

impl FromRef<AppState> for Authenticator {
    fn from_ref(state: &AppState) -> Self {
        state.inner.authenticator.clone()
    }
}

impl FromRef<AppState> for Arc<IngestLimits> {
    fn from_ref(state: &AppState) -> Self {
        state.inner.limits.clone()
    }
}
