//! Configuration from `FECHATTER_*` environment variables, defaults from `topology.md`.

mod files;
mod rate_limits;
mod websocket;

use std::time::Duration;

use env_config::{ConfigError, Env};
use fechatter_events::EventBus;
use observability::server::Listen;
use observability::telemetry::LogFormat;
use secrecy::SecretString;
use url::Url;

pub use files::FileSettings;
pub use rate_limits::RateLimits;
pub use websocket::WebSocketSettings;

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: Listen,
    /// Holds credentials: never log it.
    pub database_url: SecretString,
    pub database_max_connections: u32,
    pub nats_url: Url,
    pub event_bus: EventBus,
    pub jwt_secret: SecretString,
    pub access_token_ttl: Duration,
    pub log_format: LogFormat,
    pub log_filter: String,
    /// How often the health checks run in the background to keep the status gauges current.
    pub health_interval: Duration,
    pub drain_delay: Duration,
    pub refresh_token_ttl: Duration,
    pub password_hashing: PasswordHashing,
    pub limits: Limits,
    pub cache: CacheSettings,
    pub outbox: OutboxSettings,
    pub files: FileSettings,
    pub rate_limits: RateLimits,
    pub websocket: WebSocketSettings,
}

/// Argon2id cost. The defaults are OWASP's minimum for argon2id (19 MiB, 2 passes, 1 lane); tests
/// lower them to keep sign-ups cheap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordHashing {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

/// Input limits of the API (`api.md`: configurable and enforced).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Characters (not bytes) in a message.
    pub max_message_chars: usize,
    pub max_chat_members: usize,
    pub max_body_bytes: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheSettings {
    /// How long a cached session, chat membership or user stays fresh. Changes invalidate entries
    /// on every instance at once (NOTIFY); this bounds staleness should a notification be lost.
    pub ttl: Duration,
    pub max_entries: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxSettings {
    /// The relay wakes on every commit (LISTEN/NOTIFY); this poll is the fallback when a
    /// notification is lost.
    pub poll_interval: Duration,
    pub batch_size: i64,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from(&Env::from_process("FECHATTER"))
    }

    pub fn from(env: &Env) -> Result<Self, ConfigError> {
        let database_url = env.url(
            "DATABASE_URL",
            "postgres://postgres:postgres@localhost:5432/fechatter",
            &["postgres", "postgresql"],
        )?;
        Ok(Self {
            listen: Listen {
                host: env.string("HOST", "0.0.0.0"),
                port: env.port("PORT", 6688)?,
                metrics_port: env.port("METRICS_PORT", 9090)?,
            },
            database_url: SecretString::from(database_url.to_string()),
            database_max_connections: env.bounded("DATABASE_MAX_CONNECTIONS", 20, 1, 1000)?,
            nats_url: env.url("NATS_URL", "nats://localhost:4222", &["nats", "tls"])?,
            event_bus: EventBus {
                stream: env.string("NATS_STREAM", fechatter_events::stream::DEFAULT_STREAM),
                subject_prefix: env.string(
                    "NATS_SUBJECT_PREFIX",
                    fechatter_events::stream::DEFAULT_SUBJECT_PREFIX,
                ),
                ..EventBus::default()
            },
            jwt_secret: env.secret("JWT_SECRET", None, fechatter_auth::MIN_SECRET_LEN)?,
            access_token_ttl: Duration::from_secs(env.bounded(
                "ACCESS_TOKEN_TTL_SECONDS",
                fechatter_auth::DEFAULT_ACCESS_TOKEN_TTL.as_secs(),
                1,
                24 * 3600,
            )?),
            log_format: env.parse("LOG_FORMAT", LogFormat::Pretty)?,
            log_filter: env.string("LOG", "info"),
            health_interval: env.millis("HEALTH_INTERVAL_MS", Duration::from_secs(5))?,
            drain_delay: env.millis("DRAIN_DELAY_MS", Duration::ZERO)?,
            refresh_token_ttl: Duration::from_secs(env.bounded(
                "REFRESH_TOKEN_TTL_SECONDS",
                30 * 24 * 3600,
                60,
                365 * 24 * 3600,
            )?),
            password_hashing: PasswordHashing {
                memory_kib: env.bounded("ARGON2_MEMORY_KIB", 19 * 1024, 8, 4 * 1024 * 1024)?,
                iterations: env.bounded("ARGON2_ITERATIONS", 2, 1, 100)?,
                parallelism: env.bounded("ARGON2_PARALLELISM", 1, 1, 64)?,
            },
            limits: Limits {
                max_message_chars: env.bounded("MAX_MESSAGE_CHARS", 4000, 1, 100_000)?,
                max_chat_members: env.bounded("MAX_CHAT_MEMBERS", 1000, 2, 100_000)?,
                max_body_bytes: env.bounded(
                    "MAX_BODY_BYTES",
                    1024 * 1024,
                    1024,
                    64 * 1024 * 1024,
                )?,
            },
            cache: CacheSettings {
                ttl: Duration::from_secs(env.bounded("CACHE_TTL_SECONDS", 30, 1, 3600)?),
                max_entries: env.bounded("CACHE_MAX_ENTRIES", 100_000, 100, 100_000_000)?,
            },
            outbox: OutboxSettings {
                poll_interval: Duration::from_millis(env.bounded(
                    "OUTBOX_POLL_INTERVAL_MS",
                    1000,
                    10,
                    60_000,
                )?),
                batch_size: env.bounded("OUTBOX_BATCH_SIZE", 100, 1, 10_000)?,
            },
            files: FileSettings::from(env)?,
            rate_limits: RateLimits::from(env)?,
            websocket: WebSocketSettings::from(env)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "a-test-secret-that-is-32-bytes-long!";

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut vars = vec![("FECHATTER_JWT_SECRET", SECRET)];
        vars.extend_from_slice(pairs);
        Config::from(&Env::from_map("FECHATTER", vars))
    }

    #[test]
    fn defaults_follow_the_topology() {
        let config = config(&[]).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(
            (config.listen.port, config.listen.metrics_port),
            (6688, 9090)
        );
        assert_eq!(config.event_bus.stream, "FECHATTER_EVENTS");
    }

    #[test]
    fn an_invalid_port_names_the_variable() {
        let err = config(&[("FECHATTER_METRICS_PORT", "ninety")]).unwrap_err();
        assert!(
            err.to_string().starts_with("FECHATTER_METRICS_PORT"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_jwt_secret_stops_start_up() {
        let err =
            Config::from(&Env::from_map("FECHATTER", Vec::<(String, String)>::new())).unwrap_err();
        assert_eq!(err.to_string(), "FECHATTER_JWT_SECRET: must be set");
    }

    #[test]
    fn password_hashing_defaults_to_the_owasp_minimum() {
        let config = config(&[]).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(
            config.password_hashing,
            PasswordHashing {
                memory_kib: 19456,
                iterations: 2,
                parallelism: 1
            }
        );
        assert_eq!(config.limits.max_message_chars, 4000);
    }

    #[test]
    fn a_limit_out_of_range_names_the_variable() {
        let err = config(&[("FECHATTER_MAX_MESSAGE_CHARS", "0")]).unwrap_err();
        assert!(
            err.to_string().starts_with("FECHATTER_MAX_MESSAGE_CHARS"),
            "{err}"
        );
    }

    #[test]
    fn a_database_url_of_another_scheme_is_rejected() {
        let err = config(&[("FECHATTER_DATABASE_URL", "mysql://root:pw@db/x")]).unwrap_err();
        assert!(err.to_string().contains("FECHATTER_DATABASE_URL"));
    }
}
