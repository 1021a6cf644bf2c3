//! Configuration from `NOTIFY_*` environment variables, defaults from `topology.md`.

use std::time::Duration;

use env_config::{ConfigError, Env};
use fechatter_events::EventBus;
use observability::server::Listen;
use observability::telemetry::LogFormat;
use secrecy::SecretString;
use url::Url;

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: Listen,
    pub nats_url: Url,
    pub event_bus: EventBus,
    /// The secret fechatter_server signs access tokens with.
    pub jwt_secret: SecretString,
    pub log_format: LogFormat,
    pub log_filter: String,
    pub health_interval: Duration,
    pub drain_delay: Duration,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from(&Env::from_process("NOTIFY"))
    }

    pub fn from(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            listen: Listen {
                host: env.string("HOST", "0.0.0.0"),
                port: env.port("PORT", 6689)?,
                metrics_port: env.port("METRICS_PORT", 9091)?,
            },
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

    #[test]
    fn defaults_follow_the_topology() {
        let env = Env::from_map(
            "NOTIFY",
            [("NOTIFY_JWT_SECRET", "a-test-secret-that-is-32-bytes-long!")],
        );
        let config = Config::from(&env).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(
            (config.listen.port, config.listen.metrics_port),
            (6689, 9091)
        );
    }

    #[test]
    fn an_invalid_nats_url_names_the_variable() {
        let env = Env::from_map(
            "NOTIFY",
            [
                ("NOTIFY_JWT_SECRET", "a-test-secret-that-is-32-bytes-long!"),
                ("NOTIFY_NATS_URL", "http://nats:4222"),
            ],
        );
        let err = Config::from(&env).unwrap_err();
        assert!(err.to_string().starts_with("NOTIFY_NATS_URL"), "{err}");
    }
}
