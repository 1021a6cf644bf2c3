//! Configuration from `BOT_*` environment variables, defaults from `topology.md`.

use std::time::Duration;

use env_config::{ConfigError, Env};
use fechatter_events::EventBus;
use observability::server::Listen;
use observability::telemetry::LogFormat;
use secrecy::SecretString;
use url::Url;

#[derive(Debug, Clone)]
pub struct Config {
    /// The health endpoints' port (bot_server has no public API) and the metrics port.
    pub listen: Listen,
    /// Holds credentials: never log it.
    pub database_url: SecretString,
    pub database_max_connections: u32,
    pub nats_url: Url,
    pub event_bus: EventBus,
    /// The secret fechatter_server signs access tokens with; the bot signs its own with it.
    pub jwt_secret: SecretString,
    /// Where the bot posts its replies, so they are ordinary messages with events and SSE.
    pub fechatter_url: Url,
    pub log_format: LogFormat,
    pub log_filter: String,
    pub health_interval: Duration,
    pub drain_delay: Duration,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from(&Env::from_process("BOT"))
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
                port: env.port("PORT", 6686)?,
                metrics_port: env.port("METRICS_PORT", 9092)?,
            },
            database_url: SecretString::from(database_url.to_string()),
            database_max_connections: env.bounded("DATABASE_MAX_CONNECTIONS", 10, 1, 1000)?,
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
            fechatter_url: env.url("FECHATTER_URL", "http://localhost:6688", &["http", "https"])?,
            log_format: env.parse("LOG_FORMAT", LogFormat::Pretty)?,
            log_filter: env.string("LOG", "info"),
            health_interval: env.millis("HEALTH_INTERVAL_MS", Duration::from_secs(5))?,
            drain_delay: env.millis("DRAIN_DELAY_MS", Duration::ZERO)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(extra: &[(&'static str, &'static str)]) -> Env {
        let mut vars = vec![("BOT_JWT_SECRET", "a-test-secret-that-is-32-bytes-long!")];
        vars.extend_from_slice(extra);
        Env::from_map("BOT", vars)
    }

    #[test]
    fn defaults_follow_the_topology() {
        let config = Config::from(&env(&[])).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(
            (config.listen.port, config.listen.metrics_port),
            (6686, 9092)
        );
    }

    #[test]
    fn an_invalid_fechatter_url_names_the_variable() {
        let err = Config::from(&env(&[("BOT_FECHATTER_URL", "ftp://x")])).unwrap_err();
        assert!(err.to_string().starts_with("BOT_FECHATTER_URL"), "{err}");
    }
}
