//! Every analytics_server metric, declared once, recorded only through the functions below.

use std::time::Duration;

use fechatter_events::metrics::{DeadLetterCounter, SubscriptionMetrics};
use service_kit::buckets::{COUNT, END_TO_END_SECONDS, LATENCY_SECONDS, LIFETIME_SECONDS};
use service_kit::{MetricDef, Unit};

use crate::events::{EventType, Source};

pub const EVENTS_INGESTED: MetricDef = MetricDef::counter(
    "analytics_events_ingested_total",
    "Events durably written to ClickHouse, by source (http, nats) and event type.",
    &["source", "event_type"],
);
pub const EVENTS_DUPLICATE: MetricDef = MetricDef::counter(
    "analytics_events_duplicate_total",
    "Events dropped because an event with the same id was already buffered or written (source http: a client's repeated event, at ingestion or from its stream; nats: a redelivered domain event).",
    &["source"],
);
pub const INGEST_BATCH_EVENTS: MetricDef = MetricDef::histogram(
    "analytics_ingest_batch_events",
    Unit::Count,
    "Events per ClickHouse insert.",
    &[],
    COUNT,
);
pub const VALIDATION_ERRORS: MetricDef = MetricDef::counter(
    "analytics_event_validation_errors_total",
    "Client events or requests refused at ingestion, by reason.",
    &["reason"],
);
pub const EVENT_PROCESSING_DURATION: MetricDef = MetricDef::histogram(
    "analytics_event_processing_duration_seconds",
    Unit::Seconds,
    "Time from receiving an event to its row being durably in ClickHouse, by event type (a ClickHouse outage included).",
    &["event_type"],
    END_TO_END_SECONDS,
);
pub const CLICKHOUSE_INSERT_DURATION: MetricDef = MetricDef::histogram(
    "analytics_clickhouse_insert_duration_seconds",
    Unit::Seconds,
    "Time of each ClickHouse insert attempt, failed ones included.",
    &[],
    LATENCY_SECONDS,
);
pub const CLICKHOUSE_QUERY_DURATION: MetricDef = MetricDef::histogram(
    "analytics_clickhouse_query_duration_seconds",
    Unit::Seconds,
    "Time of each ClickHouse query, by query name.",
    &["query"],
    LATENCY_SECONDS,
);
pub const CLICKHOUSE_ERRORS: MetricDef = MetricDef::counter(
    "analytics_clickhouse_errors_total",
    "Failed ClickHouse operations (insert, query, schema).",
    &["operation"],
);
pub const CLICKHOUSE_ROWS_INSERTED: MetricDef = MetricDef::counter(
    "analytics_clickhouse_rows_inserted_total",
    "Rows written to ClickHouse.",
    &[],
);
pub const CLICKHOUSE_UP: MetricDef = MetricDef::gauge(
    "analytics_clickhouse_up",
    Unit::Count,
    "1 when the last ClickHouse check or insert succeeded, else 0.",
    &[],
);
pub const BUFFER_PENDING_EVENTS: MetricDef = MetricDef::gauge(
    "analytics_buffer_pending_events",
    Unit::Count,
    "Events taken from JetStream (domain or client events) but not yet written to ClickHouse.",
    &[],
);
pub const BUFFER_CAPACITY_EVENTS: MetricDef = MetricDef::gauge(
    "analytics_buffer_capacity_events",
    Unit::Count,
    "How many events the buffer holds before the JetStream consumers wait for room.",
    &[],
);
pub const NATS_MESSAGES_RECEIVED: MetricDef = MetricDef::counter(
    "analytics_nats_messages_received_total",
    "Domain events delivered by the JetStream consumer `analytics`, redeliveries included, by event kind.",
    &["event"],
);
pub const NATS_SUBSCRIPTION_ACTIVE: MetricDef = MetricDef::gauge(
    "analytics_nats_subscription_active",
    Unit::Count,
    "1 while both durable JetStream consumers (domain events and client events) are pulling, else 0.",
    &[],
);
pub const EVENTS_DEAD_LETTERED: MetricDef = MetricDef::counter(
    "analytics_events_dead_lettered_total",
    "Events the consumers `analytics` and `analytics_client_events` gave up on and stored in the dead-letter stream, by reason: malformed (can never be read), failed (kept failing until max-deliver).",
    &["reason"],
);
pub const SESSIONS_ACTIVE: MetricDef = MetricDef::gauge(
    "analytics_sessions_active",
    Unit::Count,
    "Client sessions seen recently that have neither ended nor timed out.",
    &[],
);
pub const SESSION_DURATION: MetricDef = MetricDef::histogram(
    "analytics_session_duration_seconds",
    Unit::Seconds,
    "Length of client sessions, observed when they end or time out.",
    &[],
    LIFETIME_SECONDS,
);
pub const QUERY_DURATION: MetricDef = MetricDef::histogram(
    "analytics_query_duration_seconds",
    Unit::Seconds,
    "Time to answer each report, by report.",
    &["report"],
    LATENCY_SECONDS,
);
pub const QUERY_RESULT_ROWS: MetricDef = MetricDef::histogram(
    "analytics_query_result_rows",
    Unit::Count,
    "Rows each report query returned, by report.",
    &["report"],
    COUNT,
);
pub const DAILY_ACTIVE_USERS: MetricDef = MetricDef::gauge(
    "analytics_daily_active_users",
    Unit::Count,
    "Distinct signed-in users with an event today (UTC), all workspaces.",
    &[],
);
pub const WEEKLY_ACTIVE_USERS: MetricDef = MetricDef::gauge(
    "analytics_weekly_active_users",
    Unit::Count,
    "Distinct signed-in users with an event in the last 7 days (UTC, today included).",
    &[],
);
pub const DAILY_MESSAGES_SENT: MetricDef = MetricDef::gauge(
    "analytics_daily_messages_sent",
    Unit::Count,
    "Messages created today (UTC), all workspaces.",
    &[],
);
pub const RATE_LIMITED: MetricDef = MetricDef::counter(
    "analytics_rate_limited_total",
    "POST /api/event(s) requests refused with 429, by the bucket that was empty (user or address).",
    &["scope"],
);

/// The declarations owned by analytics_server (the shared HTTP and health metrics are added by
/// [`super::catalogue`]).
pub const DECLARED: &[MetricDef] = &[
    EVENTS_INGESTED,
    EVENTS_DUPLICATE,
    INGEST_BATCH_EVENTS,
    VALIDATION_ERRORS,
    EVENT_PROCESSING_DURATION,
    CLICKHOUSE_INSERT_DURATION,
    CLICKHOUSE_QUERY_DURATION,
    CLICKHOUSE_ERRORS,
    CLICKHOUSE_ROWS_INSERTED,
    CLICKHOUSE_UP,
    BUFFER_PENDING_EVENTS,
    BUFFER_CAPACITY_EVENTS,
    NATS_MESSAGES_RECEIVED,
    NATS_SUBSCRIPTION_ACTIVE,
    EVENTS_DEAD_LETTERED,
    SESSIONS_ACTIVE,
    SESSION_DURATION,
    QUERY_DURATION,
    QUERY_RESULT_ROWS,
    DAILY_ACTIVE_USERS,
    WEEKLY_ACTIVE_USERS,
    DAILY_MESSAGES_SENT,
    RATE_LIMITED,
];

/// Gauges read 0 from the start instead of being absent until first set.
pub fn init(buffer_capacity: usize) {
    BUFFER_CAPACITY_EVENTS
        .as_gauge()
        .set(buffer_capacity as f64);
    for gauge in [
        BUFFER_PENDING_EVENTS,
        NATS_SUBSCRIPTION_ACTIVE,
        SESSIONS_ACTIVE,
    ] {
        gauge.as_gauge().increment(0.0);
    }
    DEAD_LETTERED.prime();
}

pub struct IngestMetrics;

impl IngestMetrics {
    pub fn rejected(reason: &'static str) {
        VALIDATION_ERRORS
            .counter_with([("reason", reason)])
            .increment(1);
    }

    pub fn duplicate(source: Source) {
        EVENTS_DUPLICATE
            .counter_with([("source", source.as_str())])
            .increment(1);
    }

    /// One row is durably stored, `waited` after it was received.
    pub fn written(source: Source, event_type: EventType, waited: Duration) {
        EVENTS_INGESTED
            .counter_with([
                ("source", source.as_str()),
                ("event_type", event_type.as_str()),
            ])
            .increment(1);
        EVENT_PROCESSING_DURATION
            .histogram_with([("event_type", event_type.as_str())])
            .record(waited.as_secs_f64());
    }
}

pub struct ClickHouseMetrics;

impl ClickHouseMetrics {
    pub fn reachable(up: bool) {
        CLICKHOUSE_UP.as_gauge().set(if up { 1.0 } else { 0.0 });
    }

    pub fn insert_attempted(took: Duration, ok: bool) {
        CLICKHOUSE_INSERT_DURATION
            .as_histogram()
            .record(took.as_secs_f64());
        if !ok {
            Self::failed("insert");
        }
        Self::reachable(ok);
    }

    pub fn inserted(rows: usize) {
        CLICKHOUSE_ROWS_INSERTED.as_counter().increment(rows as u64);
        INGEST_BATCH_EVENTS.as_histogram().record(rows as f64);
    }

    pub fn queried(query: &'static str, took: Duration, ok: bool) {
        CLICKHOUSE_QUERY_DURATION
            .histogram_with([("query", query)])
            .record(took.as_secs_f64());
        if !ok {
            Self::failed("query");
        }
    }

    /// `operation` is one of `insert`, `query`, `schema`.
    pub fn failed(operation: &'static str) {
        CLICKHOUSE_ERRORS
            .counter_with([("operation", operation)])
            .increment(1);
    }
}

pub struct BufferMetrics;

impl BufferMetrics {
    pub fn pending(events: usize) {
        BUFFER_PENDING_EVENTS.as_gauge().set(events as f64);
    }
}

/// Domain events delivered to the consumer `analytics` (by event kind) and whether both of
/// analytics' consumers are subscribed, recorded by `fechatter_events`.
pub const NATS: SubscriptionMetrics = SubscriptionMetrics {
    received: NATS_MESSAGES_RECEIVED,
    processing: None,
    active: Some(NATS_SUBSCRIPTION_ACTIVE),
};

pub struct NatsMetrics;

impl NatsMetrics {
    pub fn subscription_active(active: bool) {
        NATS.active(active);
    }
}

/// `analytics_events_dead_lettered_total`, moved by the shared delivery policy.
pub const DEAD_LETTERED: DeadLetterCounter = DeadLetterCounter(EVENTS_DEAD_LETTERED);

pub struct SessionMetrics;

impl SessionMetrics {
    pub fn active(sessions: usize) {
        SESSIONS_ACTIVE.as_gauge().set(sessions as f64);
    }

    pub fn ended(lasted: Duration) {
        SESSION_DURATION.as_histogram().record(lasted.as_secs_f64());
    }
}

pub struct ReportMetrics;

impl ReportMetrics {
    pub fn answered(report: &'static str, took: Duration, rows: usize) {
        QUERY_DURATION
            .histogram_with([("report", report)])
            .record(took.as_secs_f64());
        QUERY_RESULT_ROWS
            .histogram_with([("report", report)])
            .record(rows as f64);
    }
}

pub struct BusinessMetrics;

impl BusinessMetrics {
    pub fn refreshed(daily_active_users: u64, weekly_active_users: u64, messages_today: u64) {
        DAILY_ACTIVE_USERS.as_gauge().set(daily_active_users as f64);
        WEEKLY_ACTIVE_USERS
            .as_gauge()
            .set(weekly_active_users as f64);
        DAILY_MESSAGES_SENT.as_gauge().set(messages_today as f64);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_catalogue_follows_the_convention() {
        let defs = crate::observability::catalogue();
        assert_eq!(
            service_kit::catalogue::violations("analytics", &defs),
            Vec::<String>::new()
        );
    }
}

/// Which rate limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitScope {
    User,
    Address,
}

impl LimitScope {
    const ALL: [LimitScope; 2] = [LimitScope::User, LimitScope::Address];

    const fn as_str(self) -> &'static str {
        match self {
            LimitScope::User => "user",
            LimitScope::Address => "address",
        }
    }
}

pub struct ProtectionMetrics;

impl ProtectionMetrics {
    /// Makes both series exist from start-up.
    pub fn prime() {
        for scope in LimitScope::ALL {
            RATE_LIMITED
                .counter_with([("scope", scope.as_str())])
                .increment(0);
        }
    }

    pub fn rate_limited(scope: LimitScope) {
        RATE_LIMITED
            .counter_with([("scope", scope.as_str())])
            .increment(1);
    }
}
