//! Every bot_server metric, declared once, recorded only through the functions below.

use std::time::Duration;

use fechatter_events::metrics::{DeadLetterCounter, SubscriptionMetrics};
use postgres_kit::PostgresMetrics;
use service_kit::buckets::{END_TO_END_SECONDS, LATENCY_SECONDS, SLOW_SECONDS};
use service_kit::{MetricDef, Unit};

pub const NATS_EVENTS_RECEIVED: MetricDef = MetricDef::counter(
    "bot_nats_events_received_total",
    "Events delivered by the durable consumer `bot` (redeliveries included), by event kind.",
    &["event"],
);
pub const NATS_EVENT_PROCESSING_DURATION: MetricDef = MetricDef::histogram(
    "bot_nats_event_processing_duration_seconds",
    Unit::Seconds,
    "Time from receiving an event to acknowledging it (indexing and any answer included), by kind.",
    &["event"],
    END_TO_END_SECONDS,
);
pub const NATS_SUBSCRIPTION_ACTIVE: MetricDef = MetricDef::gauge(
    "bot_nats_subscription_active",
    Unit::Count,
    "1 while the durable consumer is subscribed and NATS is connected, else 0.",
    &[],
);
pub const CONSUMER_PENDING: MetricDef = MetricDef::gauge(
    "bot_consumer_pending_events",
    Unit::Count,
    "Events in the stream the consumer has not been delivered yet (consumer info num_pending, sampled every second).",
    &[],
);
pub const EVENTS_DEAD_LETTERED: MetricDef = MetricDef::counter(
    "bot_events_dead_lettered_total",
    "Events the consumers `bot` and `bot_assistant` gave up on and stored in the dead-letter stream, by reason: malformed (can never be read), failed (kept failing until max-deliver).",
    &["reason"],
);
pub const INDEX_MESSAGES: MetricDef = MetricDef::counter(
    "bot_index_messages_total",
    "Message events applied to the search index, by result: indexed, deleted, stale (an older version), duplicate (an event seen before), gone (the message no longer exists), failed.",
    &["result"],
);
pub const INDEX_DURATION: MetricDef = MetricDef::histogram(
    "bot_index_duration_seconds",
    Unit::Seconds,
    "Time to apply one message event to the index, embedding included.",
    &[],
    LATENCY_SECONDS,
);
pub const SEARCH_DOCUMENTS_INDEXED: MetricDef = MetricDef::gauge(
    "bot_search_documents_indexed",
    Unit::Count,
    "Messages in the search index, deleted ones excluded (sampled every 10 seconds).",
    &[],
);
pub const EMBEDDINGS_GENERATED: MetricDef = MetricDef::counter(
    "bot_embeddings_generated_total",
    "Texts embedded, by provider (offline, http) and result (success, error).",
    &["provider", "result"],
);
pub const EMBEDDING_DURATION: MetricDef = MetricDef::histogram(
    "bot_embedding_duration_seconds",
    Unit::Seconds,
    "Time to embed one text, by provider.",
    &["provider"],
    LATENCY_SECONDS,
);
pub const EMBEDDING_DIMENSIONS: MetricDef = MetricDef::gauge(
    "bot_embedding_dimensions",
    Unit::Count,
    "The configured length of every stored embedding.",
    &[],
);
pub const AGENT_REQUESTS: MetricDef = MetricDef::counter(
    "bot_agent_requests_total",
    "Messages the assistant answered, by result: answered, provider_error (an apology was posted), post_failed (the reply could not be posted).",
    &["result"],
);
pub const AGENT_RESPONSE_DURATION: MetricDef = MetricDef::histogram(
    "bot_agent_response_duration_seconds",
    Unit::Seconds,
    "Time from starting to answer a message to its reply being posted.",
    &[],
    SLOW_SECONDS,
);
pub const AGENT_TOKENS: MetricDef = MetricDef::counter(
    "bot_agent_tokens_total",
    "Tokens the language model reported using, by kind: prompt, completion.",
    &["kind"],
);
pub const DB_QUERY_DURATION: MetricDef = MetricDef::histogram(
    "bot_db_query_duration_seconds",
    Unit::Seconds,
    "Time each database operation took, connection acquisition included, by operation.",
    &["operation"],
    LATENCY_SECONDS,
);
pub const DB_CONNECTIONS_ACTIVE: MetricDef = MetricDef::gauge(
    "bot_db_connections_active",
    Unit::Count,
    "Pool connections checked out right now (sampled every second).",
    &[],
);
pub const DB_CONNECTIONS_MAX: MetricDef = MetricDef::gauge(
    "bot_db_connections_max",
    Unit::Count,
    "The pool's configured maximum (BOT_DATABASE_MAX_CONNECTIONS).",
    &[],
);
pub const DB_ERRORS: MetricDef = MetricDef::counter(
    "bot_db_errors_total",
    "Database operations that failed, by operation (a foreign-key violation, which means the message is gone, is an outcome and not counted).",
    &["operation"],
);
pub const PROBE_CHECKS: MetricDef = MetricDef::counter(
    "bot_probe_checks_total",
    "Synthetic send-receive probes (a canary sends a message, its partner must receive it over SSE), by result: success, failure.",
    &["result"],
);
pub const PROBE_DURATION: MetricDef = MetricDef::histogram(
    "bot_probe_duration_seconds",
    Unit::Seconds,
    "Time from the probe sending its message to the partner's SSE stream receiving it, successful probes only.",
    &[],
    END_TO_END_SECONDS,
);
pub const PROBE_LAST_SUCCESS: MetricDef = MetricDef::gauge(
    "bot_probe_last_success_timestamp_seconds",
    Unit::Seconds,
    "When the probe last succeeded (Unix time).",
    &[],
);

/// The declarations owned by bot_server (the shared health metrics are added by
/// [`super::catalogue`]).
pub const DECLARED: &[MetricDef] = &[
    NATS_EVENTS_RECEIVED,
    NATS_EVENT_PROCESSING_DURATION,
    NATS_SUBSCRIPTION_ACTIVE,
    CONSUMER_PENDING,
    EVENTS_DEAD_LETTERED,
    INDEX_MESSAGES,
    INDEX_DURATION,
    SEARCH_DOCUMENTS_INDEXED,
    EMBEDDINGS_GENERATED,
    EMBEDDING_DURATION,
    EMBEDDING_DIMENSIONS,
    AGENT_REQUESTS,
    AGENT_RESPONSE_DURATION,
    AGENT_TOKENS,
    DB_QUERY_DURATION,
    DB_CONNECTIONS_ACTIVE,
    DB_CONNECTIONS_MAX,
    DB_ERRORS,
    PROBE_CHECKS,
    PROBE_DURATION,
    PROBE_LAST_SUCCESS,
];

/// Series the dashboards and alerts read exist from start-up, not from their first change.
pub fn initialise(embedding_dimensions: usize) {
    NATS_SUBSCRIPTION_ACTIVE.as_gauge().set(0.0);
    CONSUMER_PENDING.as_gauge().set(0.0);
    EMBEDDING_DIMENSIONS
        .as_gauge()
        .set(embedding_dimensions as f64);
    for kind in ["prompt", "completion"] {
        AGENT_TOKENS.counter_with([("kind", kind)]).increment(0);
    }
    DEAD_LETTERED.prime();
}

/// The connection pool's occupancy and each database operation, recorded by `postgres_kit`.
pub const POSTGRES: PostgresMetrics = PostgresMetrics {
    query_duration: DB_QUERY_DURATION,
    errors: DB_ERRORS,
    connections_active: DB_CONNECTIONS_ACTIVE,
    connections_idle: None,
    connections_max: DB_CONNECTIONS_MAX,
};

/// The consumer `bot`'s deliveries (by event kind) and subscription, recorded by
/// `fechatter_events`.
pub const NATS: SubscriptionMetrics = SubscriptionMetrics {
    received: NATS_EVENTS_RECEIVED,
    processing: Some(NATS_EVENT_PROCESSING_DURATION),
    active: Some(NATS_SUBSCRIPTION_ACTIVE),
};

pub struct ConsumerMetrics;

impl ConsumerMetrics {
    pub fn pending(events: u64) {
        CONSUMER_PENDING.as_gauge().set(events as f64);
    }
}

/// `bot_events_dead_lettered_total`, moved by the shared delivery policy.
pub const DEAD_LETTERED: DeadLetterCounter = DeadLetterCounter(EVENTS_DEAD_LETTERED);

/// What applying a message event did to the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexResult {
    Indexed,
    Deleted,
    Stale,
    Duplicate,
    Gone,
    Failed,
}

impl IndexResult {
    pub const fn as_str(self) -> &'static str {
        match self {
            IndexResult::Indexed => "indexed",
            IndexResult::Deleted => "deleted",
            IndexResult::Stale => "stale",
            IndexResult::Duplicate => "duplicate",
            IndexResult::Gone => "gone",
            IndexResult::Failed => "failed",
        }
    }
}

pub struct IndexMetrics;

impl IndexMetrics {
    pub fn applied(result: IndexResult, elapsed: Duration) {
        INDEX_MESSAGES
            .counter_with([("result", result.as_str())])
            .increment(1);
        INDEX_DURATION.as_histogram().record(elapsed.as_secs_f64());
    }

    /// A redelivered event, skipped before any work.
    pub fn duplicate() {
        INDEX_MESSAGES
            .counter_with([("result", IndexResult::Duplicate.as_str())])
            .increment(1);
    }

    pub fn documents(count: i64) {
        SEARCH_DOCUMENTS_INDEXED.as_gauge().set(count as f64);
    }
}

pub struct EmbeddingMetrics;

impl EmbeddingMetrics {
    /// `provider` is `offline` or `http`.
    pub fn embedded(provider: &'static str, ok: bool, elapsed: Duration) {
        let result = if ok { "success" } else { "error" };
        EMBEDDINGS_GENERATED
            .counter_with([("provider", provider), ("result", result)])
            .increment(1);
        EMBEDDING_DURATION
            .histogram_with([("provider", provider)])
            .record(elapsed.as_secs_f64());
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentResult {
    Answered,
    ProviderError,
    PostFailed,
}

impl AgentResult {
    pub const fn as_str(self) -> &'static str {
        match self {
            AgentResult::Answered => "answered",
            AgentResult::ProviderError => "provider_error",
            AgentResult::PostFailed => "post_failed",
        }
    }

    /// The result stored with an answer; an unknown text counts as answered.
    pub fn parse_stored(text: &str) -> Self {
        match text {
            "provider_error" => AgentResult::ProviderError,
            "post_failed" => AgentResult::PostFailed,
            _ => AgentResult::Answered,
        }
    }
}

pub struct AgentMetrics;

impl AgentMetrics {
    pub fn request(result: AgentResult, elapsed: Duration) {
        AGENT_REQUESTS
            .counter_with([("result", result.as_str())])
            .increment(1);
        AGENT_RESPONSE_DURATION
            .as_histogram()
            .record(elapsed.as_secs_f64());
    }

    pub fn tokens(prompt: u64, completion: u64) {
        AGENT_TOKENS
            .counter_with([("kind", "prompt")])
            .increment(prompt);
        AGENT_TOKENS
            .counter_with([("kind", "completion")])
            .increment(completion);
    }
}

/// The synthetic send-receive probe.
pub struct ProbeMetrics;

impl ProbeMetrics {
    /// Both results read 0 from the start, so a failure ratio exists as soon as the probe runs.
    pub fn started() {
        for result in ["success", "failure"] {
            PROBE_CHECKS.counter_with([("result", result)]).increment(0);
        }
    }

    pub fn succeeded(took: Duration) {
        PROBE_CHECKS
            .counter_with([("result", "success")])
            .increment(1);
        PROBE_DURATION.as_histogram().record(took.as_secs_f64());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        PROBE_LAST_SUCCESS.as_gauge().set(now.as_secs_f64());
    }

    pub fn failed() {
        PROBE_CHECKS
            .counter_with([("result", "failure")])
            .increment(1);
    }
}
