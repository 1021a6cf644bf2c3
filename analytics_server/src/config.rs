//! Configuration from `ANALYTICS_*` environment variables, defaults from `topology.md`.

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
    pub clickhouse_url: Url,
    pub clickhouse_database: String,
    pub clickhouse_user: String,
    pub clickhouse_password: SecretString,
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
            listen: Listen {
                host: env.string("HOST", "0.0.0.0"),
                port: env.port("PORT", 7777)?,
                metrics_port: env.port("METRICS_PORT", 7778)?,
            },
            clickhouse_url: env.url(
                "CLICKHOUSE_URL",
                "http://localhost:8123",
                &["http", "https"],
            )?,
            clickhouse_database,
            clickhouse_user: env.string("CLICKHOUSE_USER", "default"),
            clickhouse_password: env.secret("CLICKHOUSE_PASSWORD", Some(""), 0)?,
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

    fn env(extra: &[(&'static str, &'static str)]) -> Env {
        let mut vars = vec![(
            "ANALYTICS_JWT_SECRET",
            "a-test-secret-that-is-32-bytes-long!",
        )];
        vars.extend_from_slice(extra);
        Env::from_map("ANALYTICS", vars)
    }

    #[test]
    fn defaults_follow_the_topology() {
        let config = Config::from(&env(&[])).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(
            (config.listen.port, config.listen.metrics_port),
            (7777, 7778)
        );
        assert_eq!(config.clickhouse_database, "fechatter_analytics");
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
    fn an_invalid_clickhouse_url_names_the_variable() {
        let err = Config::from(&env(&[("ANALYTICS_CLICKHOUSE_URL", "clickhouse")])).unwrap_err();
        assert!(
            err.to_string().starts_with("ANALYTICS_CLICKHOUSE_URL"),
            "{err}"
        );
    }
}
