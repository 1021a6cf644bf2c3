//! Configuration from `BOT_*` environment variables, defaults from `docs/design/topology.md`.

mod ai;
mod probe;

use std::time::Duration;

use env_config::{ConfigError, Env};
use fechatter_events::EventBus;
use fechatter_events::nats::NatsSettings;
use postgres_kit::PostgresSettings;
use secrecy::SecretString;
use service_kit::RuntimeConfig;
use url::Url;

pub use ai::{EmbeddingProvider, EmbeddingSettings, LlmSettings};
pub use probe::ProbeSettings;

#[derive(Debug, Clone)]
pub struct Config {
    /// The health endpoints' port (bot_server has no public API) and the metrics port.
    pub runtime: RuntimeConfig,
    /// `{PREFIX}_DATABASE_URL` (holds credentials: never log it) and the pool's size.
    pub database: PostgresSettings,
    /// `BOT_NATS_URL` and this service's NATS user (`BOT_NATS_USER`,
    /// `BOT_NATS_PASSWORD(_FILE)`).
    pub nats: NatsSettings,
    pub event_bus: EventBus,
    /// Where the bot posts its replies, so they are ordinary messages with events and SSE.
    pub fechatter_url: Url,
    /// The bot's own credential for `POST /api/bots/token` (`BOT_FECHATTER_API_KEY_FILE`): it gets
    /// its bots' access tokens from fechatter_server and holds no key that could make one.
    pub fechatter_api_key: SecretString,
    pub consumer: ConsumerSettings,
    pub embeddings: EmbeddingSettings,
    /// An OpenAI-compatible chat-completions endpoint; without one the assistant answers by quoting.
    pub llm: Option<LlmSettings>,
    pub assistant: AssistantSettings,
    /// The synthetic send-receive probe; `None` (no `BOT_PROBE_PASSWORD`) turns it off.
    pub probe: Option<ProbeSettings>,
}

/// The durable JetStream consumers `bot` (indexing) and `bot_assistant` (answering).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsumerSettings {
    /// Events `bot` indexes at once (and unacknowledged at most).
    pub concurrency: usize,
    /// Deliveries of one event before it is dead-lettered (deliveries spent while Postgres was
    /// down are not among them: events wait in hand for it).
    pub max_deliver: i64,
    pub ack_wait: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssistantSettings {
    /// How many of the chat's latest messages `@bot summary` reads.
    pub summary_messages: i64,
    /// How many earlier messages a search or a question brings back.
    pub matches: i64,
    /// Messages older than this when their event arrives (after an outage, a replay) are indexed
    /// but not answered: an answer to a long-forgotten question is noise.
    pub max_age: Duration,
    /// Re-rank the messages found for a question by embedding similarity.
    pub hybrid: bool,
    /// Answers composed at once, across workspaces.
    pub concurrency: usize,
    /// Answers composed at once for one workspace, so one chatty workspace cannot take them all.
    pub workspace_concurrency: usize,
    /// Messages the `bot_assistant` consumer holds at once (unacknowledged at most); questions
    /// waiting for their workspace's turn wait among them.
    pub max_pending: usize,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from(&Env::from_process("BOT"))
    }

    pub fn from(env: &Env) -> Result<Self, ConfigError> {
        // Read first, so the generated environment table lists the database first.
        let database = PostgresSettings::from_env(env, 10)?;
        Ok(Self {
            runtime: RuntimeConfig::from_env(env, 6686, 9092)?,
            database,
            nats: NatsSettings::from_env(env, "bot")?,
            event_bus: EventBus::from_env_with_dead_letters(env)?,
            fechatter_url: env.url("FECHATTER_URL", "http://localhost:6688", &["http", "https"])?,
            fechatter_api_key: env.required_secret_or_file("FECHATTER_API_KEY", 32)?,
            consumer: ConsumerSettings {
                concurrency: env.bounded("CONSUMER_CONCURRENCY", 4, 1, 256)?,
                max_deliver: env.bounded("CONSUMER_MAX_DELIVER", 5, 1, 1000)?,
                ack_wait: env.bounded_millis("CONSUMER_ACK_WAIT_MS", 60_000, 1_000, 3_600_000)?,
            },
            embeddings: ai::embeddings(env)?,
            llm: ai::llm(env)?,
            assistant: AssistantSettings {
                summary_messages: env.bounded("ASSISTANT_SUMMARY_MESSAGES", 50, 2, 500)?,
                matches: env.bounded("ASSISTANT_MATCHES", 5, 1, 20)?,
                max_age: env.bounded_seconds("ASSISTANT_MAX_AGE_SECONDS", 900, 1, 7 * 24 * 3600)?,
                hybrid: env.bool("SEARCH_HYBRID", true)?,
                concurrency: env.bounded("ASSISTANT_CONCURRENCY", 4, 1, 256)?,
                workspace_concurrency: env.bounded("ASSISTANT_WORKSPACE_CONCURRENCY", 1, 1, 256)?,
                max_pending: env.bounded("ASSISTANT_MAX_PENDING", 256, 1, 10_000)?,
            },
            probe: probe::probe(env)?,
        })
    }
}

/// What each variable read here means, for the generated environment table of
/// `docs/development.md` (by name without the prefix).
pub const ENV_NOTES: &[(&str, &str)] = &[
    (
        "DATABASE_URL",
        "Postgres, the same database as fechatter_server (a secret: never logged)",
    ),
    ("DATABASE_MAX_CONNECTIONS", "the pool size"),
    (
        "DEAD_LETTER_RETENTION_DAYS",
        "the dead-letter stream's retention; keep it equal to analytics'",
    ),
    (
        "FECHATTER_URL",
        "fechatter_server's API, where answers are posted and bot tokens asked for",
    ),
    (
        "FECHATTER_API_KEY",
        "≥ 32 bytes, equal to `FECHATTER_BOT_API_KEY`: the bot asks fechatter_server for its bots' access tokens with it and holds no signing key",
    ),
    ("CONSUMER_CONCURRENCY", "events `bot` indexes at once"),
    (
        "CONSUMER_MAX_DELIVER",
        "deliveries of an event that fails on its own, then stored in `FECHATTER_DEAD_LETTERS` on `<prefix>.dlq.bot`; deliveries are not spent while Postgres is down",
    ),
    (
        "CONSUMER_ACK_WAIT_MS",
        "how long JetStream waits for an ack before redelivering",
    ),
    (
        "EMBEDDING_DIMENSIONS",
        "must equal `FECHATTER_SEARCH_EMBEDDING_DIMENSIONS`",
    ),
    (
        "EMBEDDING_URL",
        "unset = the offline hashed n-gram embedder; else an OpenAI-compatible API base such as `https://api.openai.com/v1`",
    ),
    (
        "LLM_URL",
        "unset = answers quote the chat; else an OpenAI-compatible API base",
    ),
    ("ASSISTANT_SUMMARY_MESSAGES", "messages a summary reads"),
    ("ASSISTANT_MATCHES", "passages an answer quotes"),
    (
        "ASSISTANT_MAX_AGE_SECONDS",
        "older messages replayed after an outage are indexed, not answered",
    ),
    (
        "SEARCH_HYBRID",
        "questions re-ranked by embedding similarity",
    ),
    ("ASSISTANT_CONCURRENCY", "answers composed at once"),
    ("ASSISTANT_WORKSPACE_CONCURRENCY", "at once per workspace"),
    (
        "ASSISTANT_MAX_PENDING",
        "messages `bot_assistant` holds at once; questions waiting for their workspace's turn wait among them",
    ),
    (
        "PROBE_PASSWORD",
        "≥ 12 bytes; unset = no synthetic probe (`docs/runbook.md#probefailing`); compose and `./scripts/up` generate one",
    ),
    ("EMBEDDING_API_KEY", "a secret, sent to `BOT_EMBEDDING_URL`"),
    (
        "EMBEDDING_MODEL",
        "the model `BOT_EMBEDDING_URL` is asked for",
    ),
    ("EMBEDDING_TIMEOUT_MS", "one embedding request"),
    ("LLM_API_KEY", "a secret, sent to `BOT_LLM_URL`"),
    ("LLM_MODEL", "the model `BOT_LLM_URL` is asked for"),
    ("LLM_TIMEOUT_MS", "one completion request"),
    ("LLM_MAX_TOKENS", "the longest answer"),
    ("PROBE_INTERVAL_MS", "how often the probe sends its message"),
    (
        "PROBE_TIMEOUT_MS",
        "a message not received by then is a failed probe",
    ),
    (
        "PROBE_NOTIFY_URL",
        "where the probe listens for its message",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn env(extra: &[(&'static str, &'static str)]) -> Env {
        let mut vars = vec![(
            "BOT_FECHATTER_API_KEY",
            "a-test-bot-credential-that-is-32-bytes-long!",
        )];
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
        assert!(config.llm.is_none());
        assert!(matches!(
            config.embeddings.provider,
            EmbeddingProvider::Offline
        ));
        assert_eq!(config.embeddings.dimensions, 512);
    }

    #[test]
    fn the_probe_is_off_without_a_password_and_refuses_a_short_one() {
        assert!(
            Config::from(&env(&[]))
                .unwrap_or_else(|err| panic!("{err}"))
                .probe
                .is_none()
        );
        let on = Config::from(&env(&[("BOT_PROBE_PASSWORD", "a-canary-password")]))
            .unwrap_or_else(|err| panic!("{err}"));
        let probe = on.probe.unwrap_or_else(|| panic!("the probe is on"));
        assert_eq!(probe.interval, Duration::from_secs(30));
        assert_eq!(probe.notify_url.as_str(), "http://localhost:6689/");
        let err = Config::from(&env(&[("BOT_PROBE_PASSWORD", "short")])).unwrap_err();
        assert!(err.to_string().starts_with("BOT_PROBE_PASSWORD"), "{err}");
        assert!(
            !err.to_string().contains("short"),
            "secrets are never shown"
        );
    }

    #[test]
    fn an_invalid_fechatter_url_names_the_variable() {
        let err = Config::from(&env(&[("BOT_FECHATTER_URL", "ftp://x")])).unwrap_err();
        assert!(err.to_string().starts_with("BOT_FECHATTER_URL"), "{err}");
    }

    #[test]
    fn a_consumer_without_concurrency_is_refused() {
        let err = Config::from(&env(&[("BOT_CONSUMER_CONCURRENCY", "0")])).unwrap_err();
        assert!(
            err.to_string().starts_with("BOT_CONSUMER_CONCURRENCY"),
            "{err}"
        );
    }
}
