//! Configuration from `NOTIFY_*` environment variables, defaults from `docs/design/topology.md`.

use std::time::Duration;

use env_config::{ConfigError, Env};
use fechatter_auth::TokenVerifier;
use fechatter_events::EventBus;
use fechatter_events::nats::NatsSettings;
use fechatter_push::{HubLimits, PresenceSettings, PushSettings, ReplayLimits};
use service_kit::RuntimeConfig;

#[derive(Debug, Clone)]
pub struct Config {
    pub runtime: RuntimeConfig,
    /// `NOTIFY_NATS_URL` and this service's NATS user (`NOTIFY_NATS_USER`,
    /// `NOTIFY_NATS_PASSWORD(_FILE)`).
    pub nats: NatsSettings,
    pub event_bus: EventBus,
    /// Verifies access tokens with fechatter_server's public key (`NOTIFY_JWT_PUBLIC_KEY_FILE`).
    pub tokens: TokenVerifier,
    pub sse: SseConfig,
    /// The push core: connection caps, the ring, replay bounds, presence.
    pub push: PushSettings,
    /// How long a typing signal shows before the client lets it lapse.
    pub typing_ttl: Duration,
    /// Browser origins (the web client's) allowed to open the stream.
    pub cors_origins: fechatter_http::AllowedOrigins,
}

#[derive(Debug, Clone)]
pub struct SseConfig {
    /// A comment line is sent this often so proxies keep idle streams open.
    pub keep_alive: Duration,
    /// A connection whose client has not read for this long is closed.
    pub write_timeout: Duration,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from(&Env::from_process("NOTIFY"))
    }

    pub fn from(env: &Env) -> Result<Self, ConfigError> {
        let presence_ttl = env.bounded_millis("PRESENCE_TTL_MS", 30_000, 1_000, 3_600_000)?;
        let presence_heartbeat =
            env.bounded_millis("PRESENCE_HEARTBEAT_MS", 10_000, 100, 600_000)?;
        if presence_heartbeat >= presence_ttl {
            return Err(ConfigError::Invalid {
                variable: env.variable("PRESENCE_HEARTBEAT_MS"),
                value: presence_heartbeat.as_millis().to_string(),
                reason: "must be shorter than NOTIFY_PRESENCE_TTL_MS, or users flicker offline"
                    .to_owned(),
            });
        }
        Ok(Self {
            runtime: RuntimeConfig::from_env(env, 6689, 9091)?,
            nats: NatsSettings::from_env(env, "notify")?,
            event_bus: EventBus::from_env(env)?,
            tokens: fechatter_auth::verifier_from_env(env)?,
            sse: SseConfig {
                keep_alive: env.bounded_millis("SSE_KEEP_ALIVE_MS", 15_000, 100, 300_000)?,
                write_timeout: env.bounded_millis("SSE_WRITE_TIMEOUT_MS", 30_000, 100, 600_000)?,
            },
            push: PushSettings {
                hub: HubLimits {
                    buffer: env.bounded("SSE_BUFFER", 256, 1, 65_536)?,
                    max_connections: env.bounded("SSE_MAX_CONNECTIONS", 50_000, 1, 10_000_000)?,
                    max_connections_per_user: env.bounded(
                        "SSE_MAX_CONNECTIONS_PER_USER",
                        20,
                        1,
                        10_000,
                    )?,
                },
                ring_events: env.bounded("RING_EVENTS", 10_000, 1, 10_000_000)?,
                replay: ReplayLimits {
                    max_events: env.bounded("REPLAY_MAX_EVENTS", 1_000, 1, 100_000)?,
                    max_scan: env.bounded("REPLAY_MAX_SCAN", 100_000, 1, 10_000_000)?,
                    max_age: env.bounded_seconds(
                        "REPLAY_MAX_AGE_SECONDS",
                        3_600,
                        1,
                        30 * 24 * 3_600,
                    )?,
                },
                replay_concurrency: env.bounded("REPLAY_CONCURRENCY", 8, 1, 1_000)?,
                access_token_ttl: env.bounded_seconds(
                    "ACCESS_TOKEN_TTL_SECONDS",
                    900,
                    1,
                    86_400,
                )?,
                presence: Some(PresenceSettings {
                    ttl: presence_ttl,
                    heartbeat: presence_heartbeat,
                }),
            },
            typing_ttl: env.bounded_millis("TYPING_TTL_MS", 5_000, 100, 60_000)?,
            cors_origins: fechatter_http::AllowedOrigins::from_env(env)?,
        })
    }
}

/// What each variable read here means, for the generated environment table of
/// `docs/development.md` (by name without the prefix).
pub const ENV_NOTES: &[(&str, &str)] = &[
    (
        "PRESENCE_TTL_MS",
        "an instance whose liveness key is not refreshed for this long is dead: its users go offline",
    ),
    (
        "PRESENCE_HEARTBEAT_MS",
        "the liveness key's refresh, shorter than the TTL; the bucket keeps keys 360 heartbeats",
    ),
    ("SSE_KEEP_ALIVE_MS", "a `:keep-alive` comment this often"),
    (
        "SSE_WRITE_TIMEOUT_MS",
        "a client that has not read for this long is disconnected",
    ),
    (
        "SSE_BUFFER",
        "events per connection; a connection whose buffer fills is cut off",
    ),
    (
        "SSE_MAX_CONNECTIONS",
        "live streams per instance; beyond it `GET /events` answers 503 `over_capacity` with `Retry-After`",
    ),
    (
        "SSE_MAX_CONNECTIONS_PER_USER",
        "streams per user on one instance; beyond it 429 `too_many_connections`",
    ),
    (
        "RING_EVENTS",
        "recent events kept in memory for replays; older ones are read from JetStream",
    ),
    (
        "REPLAY_MAX_EVENTS",
        "of the user's own missed events, else `resync` `too_many`",
    ),
    (
        "REPLAY_MAX_SCAN",
        "stream events behind, else `resync` `too_many`",
    ),
    ("REPLAY_MAX_AGE_SECONDS", "else `resync` `too_old`"),
    (
        "REPLAY_CONCURRENCY",
        "replays reading JetStream at once; replays from the ring need none",
    ),
    (
        "ACCESS_TOKEN_TTL_SECONDS",
        "as fechatter_server's: how long a revoked session is remembered",
    ),
    ("TYPING_TTL_MS", "how long a typing signal shows"),
];

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
        assert_eq!(config.push.hub.max_connections_per_user, 20);
        assert_eq!(config.event_bus.replicas, 1);
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

#[cfg(test)]
mod presence_tests {
    use super::*;

    #[test]
    fn a_presence_heartbeat_not_shorter_than_the_ttl_is_refused() {
        let env = Env::from_map(
            "NOTIFY",
            [
                ("NOTIFY_PRESENCE_TTL_MS", "5000"),
                ("NOTIFY_PRESENCE_HEARTBEAT_MS", "5000"),
            ],
        );
        let err = Config::from(&env).unwrap_err();
        assert!(
            err.to_string().starts_with("NOTIFY_PRESENCE_HEARTBEAT_MS"),
            "{err}"
        );
    }
}
