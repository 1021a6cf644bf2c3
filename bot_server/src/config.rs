//! Configuration from `BOT_*` environment variables, defaults from `topology.md`.

use env_config::{ConfigError, Env};
use fechatter_events::EventBus;
use observability::RuntimeConfig;
use secrecy::SecretString;
use url::Url;

#[derive(Debug, Clone)]
pub struct Config {
    /// The health endpoints' port (bot_server has no public API) and the metrics port.
    pub runtime: RuntimeConfig,
    /// Holds credentials: never log it.
    pub database_url: SecretString,
    pub database_max_connections: u32,
    pub nats_url: Url,
    pub event_bus: EventBus,
    /// The secret fechatter_server signs access tokens with; the bot signs its own with it.
    pub jwt_secret: SecretString,
    /// Where the bot posts its replies, so they are ordinary messages with events and SSE.
    pub fechatter_url: Url,
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
            runtime: RuntimeConfig::from_env(env, 6686, 9092)?,
            database_url: SecretString::from(database_url.to_string()),
            database_max_connections: env.bounded("DATABASE_MAX_CONNECTIONS", 10, 1, 1000)?,
            nats_url: fechatter_events::nats::url_from_env(env)?,
            event_bus: EventBus::from_env(env),
            jwt_secret: env.secret("JWT_SECRET", None, fechatter_auth::MIN_SECRET_LEN)?,
            fechatter_url: env.url("FECHATTER_URL", "http://localhost:6688", &["http", "https"])?,
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
            (
                config.runtime.listen.port,
                config.runtime.listen.metrics_port
            ),
            (6686, 9092)
        );
    }

    #[test]
    fn an_invalid_fechatter_url_names_the_variable() {
        let err = Config::from(&env(&[("BOT_FECHATTER_URL", "ftp://x")])).unwrap_err();
        assert!(err.to_string().starts_with("BOT_FECHATTER_URL"), "{err}");
    }
}
