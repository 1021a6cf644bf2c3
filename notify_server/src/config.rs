//! Configuration from `NOTIFY_*` environment variables, defaults from `topology.md`.

use std::time::Duration;

use env_config::{ConfigError, Env};
use fechatter_auth::TokenVerifier;
use fechatter_events::EventBus;
use observability::RuntimeConfig;
use url::Url;

#[derive(Debug, Clone)]
pub struct Config {
    pub runtime: RuntimeConfig,
    pub nats_url: Url,
    /// This service's NATS user (`NOTIFY_NATS_USER`, `NOTIFY_NATS_PASSWORD(_FILE)`).
    pub nats_auth: fechatter_events::nats::NatsAuth,
    pub event_bus: EventBus,
    /// Verifies access tokens with fechatter_server's public key (`NOTIFY_JWT_PUBLIC_KEY_FILE`).
    pub tokens: TokenVerifier,
    pub sse: SseConfig,
    pub replay: ReplayConfig,
    pub consumer: ConsumerConfig,
    /// How long a typing signal shows before the client lets it lapse.
    pub typing_ttl: Duration,
    /// Browser origins (the web client's) allowed to open the stream.
    pub cors_origins: fechatter_http::AllowedOrigins,
}

#[derive(Debug, Clone)]
pub struct SseConfig {
    /// A comment line is sent this often so proxies keep idle streams open.
    pub keep_alive: Duration,
    /// Frames waiting for one connection; a connection whose buffer fills is cut off.
    pub buffer: usize,
    /// Live connections this instance holds at most (each costs memory and a file descriptor);
    /// beyond it `GET /events` answers 503 with `Retry-After`.
    pub max_connections: usize,
    /// A connection whose client has not read for this long is closed.
    pub write_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct ReplayConfig {
    /// A reconnect that missed more of its own events than this gets `resync` instead of a replay
    /// (the replay is held in memory before it is sent).
    pub max_events: usize,
    /// A reconnect further behind than this many stream events (anyone's) gets `resync` without
    /// scanning them.
    pub max_scan: u64,
    /// A reconnect whose first missed event is older than this gets `resync`.
    pub max_age: Duration,
}

#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// The durable consumer's name; the dead-letter subject is named after it too.
    pub durable_name: String,
    /// Deliveries of one event before it goes to the dead-letter subject.
    pub max_deliver: i64,
    /// How long JetStream waits for an ack before redelivering.
    pub ack_wait: Duration,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from(&Env::from_process("NOTIFY"))
    }

    pub fn from(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            runtime: RuntimeConfig::from_env(env, 6689, 9091)?,
            nats_url: fechatter_events::nats::url_from_env(env)?,
            nats_auth: fechatter_events::nats::auth_from_env(env, "notify")?,
            event_bus: EventBus::from_env(env),
            tokens: fechatter_auth::verifier_from_env(env)?,
            sse: SseConfig {
                keep_alive: millis_between(env, "SSE_KEEP_ALIVE_MS", 15_000, 100, 300_000)?,
                buffer: env.bounded("SSE_BUFFER", 256, 1, 65_536)?,
                max_connections: env.bounded("SSE_MAX_CONNECTIONS", 50_000, 1, 10_000_000)?,
                write_timeout: millis_between(env, "SSE_WRITE_TIMEOUT_MS", 30_000, 100, 600_000)?,
            },
            replay: ReplayConfig {
                max_events: env.bounded("REPLAY_MAX_EVENTS", 1_000, 1, 100_000)?,
                max_scan: env.bounded("REPLAY_MAX_SCAN", 100_000, 1, 10_000_000)?,
                max_age: Duration::from_secs(env.bounded(
                    "REPLAY_MAX_AGE_SECONDS",
                    3_600,
                    1,
                    30 * 24 * 3_600,
                )?),
            },
            consumer: ConsumerConfig {
                durable_name: env.string("CONSUMER_NAME", "notify"),
                max_deliver: env.bounded("CONSUMER_MAX_DELIVER", 5, 1, 1_000)?,
                ack_wait: millis_between(env, "CONSUMER_ACK_WAIT_MS", 10_000, 100, 600_000)?,
            },
            typing_ttl: millis_between(env, "TYPING_TTL_MS", 5_000, 100, 60_000)?,
            cors_origins: fechatter_http::AllowedOrigins::from_env(env)?,
        })
    }
}

fn millis_between(
    env: &Env,
    name: &str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<Duration, ConfigError> {
    env.bounded(name, default, min, max)
        .map(Duration::from_millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public_key() -> (&'static str, String) {
        let (_, public) = fechatter_auth::generate_key_pair().unwrap_or_else(|err| panic!("{err}"));
        ("NOTIFY_JWT_PUBLIC_KEY", public)
    }

    #[test]
    fn defaults_follow_the_topology() {
        let env = Env::from_map("NOTIFY", [public_key()]);
        let config = Config::from(&env).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(
            (
                config.runtime.listen.port,
                config.runtime.listen.metrics_port
            ),
            (6689, 9091)
        );
        assert_eq!(config.sse.keep_alive, Duration::from_secs(15));
        assert_eq!(config.consumer.durable_name, "notify");
    }

    #[test]
    fn an_invalid_nats_url_names_the_variable() {
        let env = Env::from_map(
            "NOTIFY",
            [
                public_key(),
                ("NOTIFY_NATS_URL", "http://nats:4222".to_owned()),
            ],
        );
        let err = Config::from(&env).unwrap_err();
        assert!(err.to_string().starts_with("NOTIFY_NATS_URL"), "{err}");
    }

    #[test]
    fn without_the_public_key_start_up_stops_naming_its_variable() {
        let err =
            Config::from(&Env::from_map("NOTIFY", Vec::<(String, String)>::new())).unwrap_err();
        assert_eq!(
            err.to_string(),
            "NOTIFY_JWT_PUBLIC_KEY_FILE (or NOTIFY_JWT_PUBLIC_KEY): must be set"
        );
    }

    #[test]
    fn a_zero_buffer_is_refused_naming_the_variable() {
        let env = Env::from_map(
            "NOTIFY",
            [public_key(), ("NOTIFY_SSE_BUFFER", "0".to_owned())],
        );
        let err = Config::from(&env).unwrap_err();
        assert!(err.to_string().starts_with("NOTIFY_SSE_BUFFER"), "{err}");
    }
}
