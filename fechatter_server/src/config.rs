//! Configuration from `FECHATTER_*` environment variables, defaults from `docs/design/topology.md`.

mod auth;
mod env_notes;
mod files;
mod page_cache;
mod rate_limits;
mod web;
mod webhooks;
mod websocket;

use std::time::Duration;

use env_config::{ConfigError, Env};
pub use env_notes::ENV_NOTES;
use fechatter_events::EventBus;
use fechatter_events::nats::NatsSettings;
use postgres_kit::PostgresSettings;
use service_kit::RuntimeConfig;

pub use auth::AuthSettings;
pub use files::FileSettings;
pub use page_cache::PageCacheSettings;
pub use rate_limits::RateLimits;
pub use web::WebClientSettings;
pub use webhooks::WebhookSettings;
pub use websocket::WebSocketSettings;

#[derive(Debug, Clone)]
pub struct Config {
    pub runtime: RuntimeConfig,
    /// `{PREFIX}_DATABASE_URL` (holds credentials: never log it) and the pool's size.
    pub database: PostgresSettings,
    /// `FECHATTER_NATS_URL` and this service's NATS user (`FECHATTER_NATS_USER`,
    /// `FECHATTER_NATS_PASSWORD(_FILE)`).
    pub nats: NatsSettings,
    pub event_bus: EventBus,
    pub auth: AuthSettings,
    pub password_hashing: PasswordHashing,
    pub limits: Limits,
    pub cache: CacheSettings,
    pub page_cache: PageCacheSettings,
    pub outbox: OutboxSettings,
    pub send_batches: SendBatchSettings,
    pub files: FileSettings,
    pub rate_limits: RateLimits,
    pub websocket: WebSocketSettings,
    pub search: SearchSettings,
    pub web: WebClientSettings,
    pub webhooks: WebhookSettings,
}

/// Argon2id cost. The defaults are OWASP's minimum for argon2id (19 MiB, 2 passes, 1 lane); tests
/// lower them to keep sign-ups cheap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordHashing {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// Hashes run one per core; at most this many more wait for a core, and a request beyond them
    /// gets 503 at once instead of queueing (each waiting request holds a connection, and each hash
    /// its memory cost).
    pub max_waiting: usize,
}

/// Input limits of the API (`docs/design/api.md`: configurable and enforced).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Characters (not bytes) in a message.
    pub max_message_chars: usize,
    pub max_chat_members: usize,
    pub max_body_bytes: usize,
    /// Files one message may reference.
    pub max_files_per_message: usize,
    /// Distinct emojis one message may carry as reactions.
    pub max_reactions_per_message: i64,
    /// Messages one chat may have pinned at once.
    pub max_pins_per_chat: i64,
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
    /// The relay wakes after every commit of its own instance that wrote events; this poll is the
    /// fallback for events nothing woke it for.
    pub poll_interval: Duration,
    pub batch_size: i64,
}

/// Plain messages are written in batches (`send_queue`): each statement takes the sends that
/// queued while the others ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendBatchSettings {
    /// Batch statements running at once, each on a pool connection. More lets one chat's slow
    /// batch (waiting for its order lock) hold up fewer others; fewer makes larger batches, and
    /// a send's Postgres CPU falls with the batch's size.
    pub at_once: usize,
    /// Sends in one statement at most.
    pub max_sends: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchSettings {
    /// Re-rank lexical matches by the cosine similarity of their embeddings (see `docs/search.md`).
    pub hybrid: bool,
    /// Embeds queries for hybrid ranking; its dimension must be bot_server's
    /// `BOT_EMBEDDING_DIMENSIONS` (and bot_server must use the offline embedder) for vectors to be
    /// compared at all.
    pub embedder: fechatter_search::HashedNgrams,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from(&Env::from_process("FECHATTER"))
    }

    pub fn from(env: &Env) -> Result<Self, ConfigError> {
        // Read first, so the generated environment table lists the database first.
        let database = PostgresSettings::from_env(env, 20)?;
        Ok(Self {
            runtime: RuntimeConfig::from_env(env, 6688, 9090)?,
            database,
            nats: NatsSettings::from_env(env, "fechatter")?,
            event_bus: EventBus::from_env(env)?,
            auth: AuthSettings::from(env)?,
            password_hashing: PasswordHashing {
                memory_kib: env.bounded("ARGON2_MEMORY_KIB", 19 * 1024, 8, 4 * 1024 * 1024)?,
                iterations: env.bounded("ARGON2_ITERATIONS", 2, 1, 100)?,
                parallelism: env.bounded("ARGON2_PARALLELISM", 1, 1, 64)?,
                max_waiting: env.bounded("ARGON2_MAX_WAITING", 32, 0, 100_000)?,
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
                max_files_per_message: env.bounded("MAX_FILES_PER_MESSAGE", 10, 1, 100)?,
                max_reactions_per_message: env.bounded("MAX_REACTIONS_PER_MESSAGE", 50, 1, 1000)?,
                max_pins_per_chat: env.bounded("MAX_PINS_PER_CHAT", 50, 1, 1000)?,
            },
            cache: CacheSettings {
                ttl: env.bounded_seconds("CACHE_TTL_SECONDS", 30, 1, 3600)?,
                max_entries: env.bounded("CACHE_MAX_ENTRIES", 100_000, 100, 100_000_000)?,
            },
            page_cache: PageCacheSettings::from(env)?,
            outbox: OutboxSettings {
                poll_interval: env.bounded_millis("OUTBOX_POLL_INTERVAL_MS", 1000, 10, 60_000)?,
                batch_size: env.bounded("OUTBOX_BATCH_SIZE", 100, 1, 10_000)?,
            },
            send_batches: SendBatchSettings {
                at_once: env.bounded("SEND_BATCHES_AT_ONCE", 2, 1, 64)?,
                max_sends: env.bounded("SEND_BATCH_MAX_SENDS", 64, 1, 1000)?,
            },
            files: FileSettings::from(env)?,
            rate_limits: RateLimits::from(env)?,
            websocket: WebSocketSettings::from(env)?,
            search: SearchSettings {
                hybrid: env.bool("SEARCH_HYBRID", false)?,
                embedder: search_embedder(env)?,
            },
            web: WebClientSettings::from(env)?,
            webhooks: WebhookSettings::from(env)?,
        })
    }
}

fn search_embedder(env: &Env) -> Result<fechatter_search::HashedNgrams, ConfigError> {
    use fechatter_search::embedding::{DEFAULT_DIMENSIONS, MAX_DIMENSIONS, MIN_DIMENSIONS};
    let dimensions = env.bounded(
        "SEARCH_EMBEDDING_DIMENSIONS",
        DEFAULT_DIMENSIONS,
        MIN_DIMENSIONS,
        MAX_DIMENSIONS,
    )?;
    fechatter_search::HashedNgrams::new(dimensions).map_err(|err| ConfigError::Invalid {
        variable: env.variable("SEARCH_EMBEDDING_DIMENSIONS"),
        value: dimensions.to_string(),
        reason: err.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let (private, _) =
            fechatter_auth::generate_key_pair().unwrap_or_else(|err| panic!("{err}"));
        let mut vars = vec![("FECHATTER_JWT_PRIVATE_KEY", private.as_str())];
        vars.extend_from_slice(pairs);
        Config::from(&Env::from_map("FECHATTER", vars))
    }

    #[test]
    fn defaults_follow_the_topology() {
        let config = config(&[]).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(
            (
                config.runtime.listen.port,
                config.runtime.listen.metrics_port
            ),
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
    fn a_missing_private_key_stops_start_up_naming_its_variable() {
        let err =
            Config::from(&Env::from_map("FECHATTER", Vec::<(String, String)>::new())).unwrap_err();
        assert_eq!(
            err.to_string(),
            "FECHATTER_JWT_PRIVATE_KEY_FILE (or FECHATTER_JWT_PRIVATE_KEY): must be set"
        );
    }

    #[test]
    fn a_shared_secret_or_the_documented_example_key_stops_start_up() {
        let secret = config(&[]).map(|_| ()).and_then(|()| {
            Config::from(&Env::from_map(
                "FECHATTER",
                [(
                    "FECHATTER_JWT_PRIVATE_KEY",
                    "an-old-hs256-shared-secret-of-48-bytes-0123456789",
                )],
            ))
            .map(|_| ())
        });
        assert!(secret.is_err_and(|err| {
            err.to_string()
                .starts_with("FECHATTER_JWT_PRIVATE_KEY_FILE")
        }),);
        let example = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIErvSI7hlkxx8S4bU4C2b0DRIm0NkNcHo+v0DCFTjnIW\n-----END PRIVATE KEY-----\n";
        let err = Config::from(&Env::from_map(
            "FECHATTER",
            [("FECHATTER_JWT_PRIVATE_KEY", example)],
        ))
        .unwrap_err();
        assert!(err.to_string().contains("example key"), "{err}");
    }

    #[test]
    fn sessions_last_ninety_days_and_the_bot_route_is_off_without_a_key() {
        let config = config(&[]).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(
            config.auth.session_lifetime,
            Duration::from_secs(90 * 24 * 3600)
        );
        assert!(config.auth.bot_api_key.is_none());
        let err = config_with_short_bot_key();
        assert!(err.starts_with("FECHATTER_BOT_API_KEY"), "{err}");
    }

    fn config_with_short_bot_key() -> String {
        config(&[("FECHATTER_BOT_API_KEY", "short")])
            .err()
            .map(|err| err.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn password_hashing_defaults_to_the_owasp_minimum() {
        let config = config(&[]).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(
            config.password_hashing,
            PasswordHashing {
                memory_kib: 19456,
                iterations: 2,
                parallelism: 1,
                max_waiting: 32,
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
    fn search_is_lexical_by_default_and_a_bad_dimension_names_its_variable() {
        let defaults = config(&[]).unwrap_or_else(|err| panic!("{err}"));
        assert!(!defaults.search.hybrid);
        assert_eq!(defaults.search.embedder.dimensions(), 512);
        let err = config(&[("FECHATTER_SEARCH_EMBEDDING_DIMENSIONS", "4")]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("FECHATTER_SEARCH_EMBEDDING_DIMENSIONS"),
            "{err}"
        );
    }

    #[test]
    fn a_database_url_of_another_scheme_is_rejected() {
        let err = config(&[("FECHATTER_DATABASE_URL", "mysql://root:pw@db/x")]).unwrap_err();
        assert!(err.to_string().contains("FECHATTER_DATABASE_URL"));
    }
}
