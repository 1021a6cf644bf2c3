//! Configuration from `ANALYTICS_*` environment variables, defaults from `docs/design/topology.md`.

mod env_notes;

use std::time::Duration;

use env_config::{ConfigError, Env};
pub use env_notes::ENV_NOTES;
use fechatter_auth::TokenVerifier;
use fechatter_events::EventBus;
use secrecy::SecretString;
use service_kit::RuntimeConfig;
use url::Url;

#[derive(Debug, Clone)]
pub struct Config {
    pub runtime: RuntimeConfig,
    pub clickhouse_url: Url,
    pub clickhouse_database: String,
    pub clickhouse_user: String,
    pub clickhouse_password: SecretString,
    /// `ANALYTICS_NATS_URL` and this service's NATS user (`ANALYTICS_NATS_USER`,
    /// `ANALYTICS_NATS_PASSWORD(_FILE)`).
    pub nats: fechatter_events::nats::NatsSettings,
    pub event_bus: EventBus,
    /// Verifies access tokens with fechatter_server's public key (`ANALYTICS_JWT_PUBLIC_KEY_FILE`).
    pub tokens: TokenVerifier,
    pub ingest: IngestConfig,
    pub rate_limits: RateLimits,
    pub writer: WriterConfig,
    pub consumer: ConsumerConfig,
    /// A client session with no event for this long is over.
    pub session_timeout: Duration,
    /// How often the business gauges (daily active users, …) are recomputed from ClickHouse.
    pub gauges_interval: Duration,
    /// Browser origins (the web client's) allowed to post client events.
    pub cors_origins: fechatter_http::AllowedOrigins,
}

/// Limits of HTTP ingestion.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    pub batch_max_events: usize,
    pub batch_max_bytes: usize,
    pub max_future: Duration,
    pub max_age: Duration,
    pub max_properties_bytes: usize,
}

/// Requests to `POST /api/event(s)` per minute, each a bucket refilled evenly over the minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub per_user_per_minute: u32,
    /// Per client address (an IPv6 address: per /64), whoever is signed in there.
    pub per_address_per_minute: u32,
    /// Reverse proxies in front that append to `X-Forwarded-For` (0: the header is ignored).
    pub trusted_proxy_hops: usize,
}

/// The buffer and its flushes to ClickHouse.
#[derive(Debug, Clone)]
pub struct WriterConfig {
    pub buffer_capacity: usize,
    pub flush_max_rows: usize,
    pub flush_interval: Duration,
    /// How many recently written event ids are remembered to drop duplicates.
    pub dedup_window: usize,
    /// Deadline of every ClickHouse request.
    pub clickhouse_timeout: Duration,
}

/// The durable JetStream consumers `analytics` (domain events) and `analytics_client_events`.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    pub ack_wait: Duration,
    /// Deliveries of one event before it is dead-lettered (deliveries spent while ClickHouse was
    /// down are not among them: events wait in hand for it).
    pub max_deliver: i64,
    /// Domain events in hand at once.
    pub max_ack_pending: i64,
}

const SECOND: u64 = 1_000;
const DAY: u64 = 86_400 * SECOND;

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from(&Env::from_process("ANALYTICS"))
    }

    pub fn from(env: &Env) -> Result<Self, ConfigError> {
        let clickhouse_database = env.string("CLICKHOUSE_DATABASE", "fechatter_analytics");
        if !clickhouse_database
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(ConfigError::Invalid {
                variable: env.variable("CLICKHOUSE_DATABASE"),
                value: clickhouse_database,
                reason: "only letters, digits and _ are allowed".to_owned(),
            });
        }
        Ok(Self {
            runtime: RuntimeConfig::from_env(env, 7777, 7778)?,
            clickhouse_url: env.url(
                "CLICKHOUSE_URL",
                "http://localhost:8123",
                &["http", "https"],
            )?,
            clickhouse_database,
            clickhouse_user: env.string("CLICKHOUSE_USER", "default"),
            clickhouse_password: env.secret("CLICKHOUSE_PASSWORD", Some(""), 0)?,
            nats: fechatter_events::nats::NatsSettings::from_env(env, "analytics")?,
            event_bus: EventBus::from_env_with_dead_letters(env)?,
            tokens: fechatter_auth::verifier_from_env(env)?,
            ingest: IngestConfig::from(env)?,
            rate_limits: RateLimits {
                per_user_per_minute: env.bounded(
                    "RATE_LIMIT_PER_USER_PER_MINUTE",
                    120,
                    1,
                    1_000_000,
                )?,
                per_address_per_minute: env.bounded(
                    "RATE_LIMIT_PER_ADDRESS_PER_MINUTE",
                    600,
                    1,
                    1_000_000,
                )?,
                trusted_proxy_hops: env.bounded("TRUSTED_PROXY_HOPS", 0, 0, 10)?,
            },
            writer: WriterConfig::from(env)?,
            consumer: ConsumerConfig {
                ack_wait: env.bounded_millis(
                    "NATS_ACK_WAIT_MS",
                    30 * SECOND,
                    SECOND,
                    3_600 * SECOND,
                )?,
                max_deliver: env.bounded("NATS_MAX_DELIVER", 5, 1, 1_000)?,
                max_ack_pending: env.bounded("NATS_MAX_ACK_PENDING", 1_000, 1, 100_000)?,
            },
            session_timeout: env.bounded_millis("SESSION_TIMEOUT_MS", 1_800 * SECOND, 100, DAY)?,
            gauges_interval: env.bounded_millis("GAUGES_INTERVAL_MS", 60 * SECOND, 100, DAY)?,
            cors_origins: fechatter_http::AllowedOrigins::from_env(env)?,
        })
    }
}

impl IngestConfig {
    fn from(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            batch_max_events: env.bounded("BATCH_MAX_EVENTS", 1_000, 1, 100_000)?,
            batch_max_bytes: env.bounded("BATCH_MAX_BYTES", 1 << 20, 1 << 10, 64 << 20)?,
            max_future: env.bounded_millis("EVENT_MAX_FUTURE_MS", 300 * SECOND, 0, DAY)?,
            max_age: env.bounded_millis("EVENT_MAX_AGE_MS", 30 * DAY, SECOND, 3_650 * DAY)?,
            max_properties_bytes: env.bounded("EVENT_MAX_PROPERTIES_BYTES", 8 << 10, 2, 1 << 20)?,
        })
    }
}

impl WriterConfig {
    fn from(env: &Env) -> Result<Self, ConfigError> {
        let flush_max_rows = env.bounded("FLUSH_MAX_ROWS", 10_000, 1, 1_000_000)?;
        let buffer_capacity: usize = env.bounded("BUFFER_CAPACITY", 100_000, 1, 10_000_000)?;
        let batch_max_events: usize = env.bounded("BATCH_MAX_EVENTS", 1_000, 1, 100_000)?;
        if buffer_capacity < batch_max_events {
            return Err(ConfigError::Invalid {
                variable: env.variable("BUFFER_CAPACITY"),
                value: buffer_capacity.to_string(),
                reason: format!(
                    "must hold at least one full batch ({} = {batch_max_events})",
                    env.variable("BATCH_MAX_EVENTS")
                ),
            });
        }
        Ok(Self {
            buffer_capacity,
            flush_max_rows,
            flush_interval: env.bounded_millis("FLUSH_INTERVAL_MS", SECOND, 10, 600 * SECOND)?,
            dedup_window: env.bounded("DEDUP_WINDOW", 200_000, 0, 10_000_000)?,
            clickhouse_timeout: env.bounded_millis(
                "CLICKHOUSE_TIMEOUT_MS",
                10 * SECOND,
                100,
                600 * SECOND,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(extra: &[(&'static str, &'static str)]) -> Env {
        let (_, public) = fechatter_auth::generate_key_pair().unwrap_or_else(|err| panic!("{err}"));
        let mut vars = vec![("ANALYTICS_JWT_PUBLIC_KEY".to_owned(), public)];
        vars.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        Env::from_map("ANALYTICS", vars)
    }

    #[test]
    fn defaults_follow_the_topology() {
        let config = Config::from(&env(&[])).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(
            (
                config.runtime.listen.port,
                config.runtime.listen.metrics_port
            ),
            (7777, 7778)
        );
        assert_eq!(config.clickhouse_database, "fechatter_analytics");
        assert_eq!(
            (
                config.rate_limits.per_user_per_minute,
                config.rate_limits.per_address_per_minute
            ),
            (120, 600)
        );
        assert_eq!(
            (config.writer.flush_max_rows, config.writer.flush_interval),
            (10_000, Duration::from_secs(1))
        );
    }

    #[test]
    fn a_database_name_that_could_inject_sql_is_rejected() {
        let err = Config::from(&env(&[(
            "ANALYTICS_CLICKHOUSE_DATABASE",
            "x; DROP TABLE y",
        )]))
        .unwrap_err();
        assert!(
            err.to_string().starts_with("ANALYTICS_CLICKHOUSE_DATABASE"),
            "{err}"
        );
    }

    #[test]
    fn a_buffer_smaller_than_one_batch_is_rejected() {
        let err = Config::from(&env(&[
            ("ANALYTICS_BATCH_MAX_EVENTS", "500"),
            ("ANALYTICS_BUFFER_CAPACITY", "100"),
        ]))
        .unwrap_err();
        assert!(
            err.to_string().starts_with("ANALYTICS_BUFFER_CAPACITY"),
            "{err}"
        );
    }

    #[test]
    fn out_of_range_limits_name_their_variable() {
        for (variable, value) in [
            ("ANALYTICS_FLUSH_MAX_ROWS", "0"),
            ("ANALYTICS_FLUSH_INTERVAL_MS", "1"),
            ("ANALYTICS_NATS_MAX_DELIVER", "zero"),
        ] {
            let err = Config::from(&env(&[(variable, value)])).unwrap_err();
            assert!(err.to_string().starts_with(variable), "{err}");
        }
    }

    #[test]
    fn an_invalid_clickhouse_url_names_the_variable() {
        let err = Config::from(&env(&[("ANALYTICS_CLICKHOUSE_URL", "clickhouse")])).unwrap_err();
        assert!(
            err.to_string().starts_with("ANALYTICS_CLICKHOUSE_URL"),
            "{err}"
        );
    }
}
