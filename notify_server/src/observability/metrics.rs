//! Every notify_server metric, declared once, recorded only through the functions below.

use std::time::Duration;

use fechatter_events::metrics::SubscriptionMetrics;
use fechatter_push::{LogError, PushMetrics, Refusal, ReplayOutcome};
use service_kit::buckets::{END_TO_END_SECONDS, LATENCY_SECONDS, LIFETIME_SECONDS};
use service_kit::handles::{CountersByLabel, HistogramsByLabel};
use service_kit::{MetricDef, Unit};

pub const SSE_CONNECTIONS_ACTIVE: MetricDef = MetricDef::gauge(
    "notify_sse_connections_active",
    Unit::Count,
    "SSE connections open right now.",
    &[],
);
pub const SSE_CONNECTIONS_OPENED: MetricDef = MetricDef::counter(
    "notify_sse_connections_opened_total",
    "SSE connections accepted (after authentication).",
    &[],
);
pub const SSE_CONNECTIONS_CLOSED: MetricDef = MetricDef::counter(
    "notify_sse_connections_closed_total",
    "SSE connections ended, by reason: client_closed, slow_consumer, shutdown, token_expired, session_revoked.",
    &["reason"],
);
pub const SSE_CONNECTIONS_REFUSED: MetricDef = MetricDef::counter(
    "notify_sse_connections_refused_total",
    "SSE connections refused after authentication, by reason: over_capacity (the instance is full), too_many_connections (the user's cap), session_revoked, shutting_down.",
    &["reason"],
);
pub const SSE_CONNECTION_DURATION: MetricDef = MetricDef::histogram(
    "notify_sse_connection_duration_seconds",
    Unit::Seconds,
    "How long SSE connections stayed open.",
    &[],
    LIFETIME_SECONDS,
);
pub const NATS_MESSAGES_RECEIVED: MetricDef = MetricDef::counter(
    "notify_nats_messages_received_total",
    "Messages received from NATS (stored events from the log reader and typing signals), by event kind.",
    &["event"],
);
pub const NATS_MESSAGE_PROCESSING_DURATION: MetricDef = MetricDef::histogram(
    "notify_nats_message_processing_duration_seconds",
    Unit::Seconds,
    "Time from receiving a NATS message to having handed it to every connection, by event kind.",
    &["event"],
    LATENCY_SECONDS,
);
pub const NATS_ERRORS: MetricDef = MetricDef::counter(
    "notify_nats_errors_total",
    "NATS failures, by reason: malformed (skipped), duplicate (an event id published again, pushed once), subscription (the log reader restarted), replay, presence.",
    &["reason"],
);
pub const NATS_SUBSCRIPTION_ACTIVE: MetricDef = MetricDef::gauge(
    "notify_nats_subscription_active",
    Unit::Count,
    "1 while the event log reader (an ordered JetStream consumer of this instance) is subscribed and connected, else 0.",
    &[],
);
pub const EVENTS_BROADCAST: MetricDef = MetricDef::counter(
    "notify_events_broadcast_total",
    "Events handed to the in-process hub for routing, by event name.",
    &["event"],
);
pub const EVENTS_DELIVERED: MetricDef = MetricDef::counter(
    "notify_events_delivered_total",
    "SSE events written to client streams (one per connection), by event name.",
    &["event"],
);
pub const EVENT_DELIVERY_LAG: MetricDef = MetricDef::histogram(
    "notify_event_delivery_lag_seconds",
    Unit::Seconds,
    "Time from an event's commit (its envelope's occurred_at) to its write to a live SSE connection, by event name; replays are not measured.",
    &["event"],
    END_TO_END_SECONDS,
);
pub const BROADCAST_FAILURES: MetricDef = MetricDef::counter(
    "notify_broadcast_failures_total",
    "Events a connection could not take, by reason: buffer_full (the connection is cut off).",
    &["reason"],
);
pub const EVENTS_REPLAYED: MetricDef = MetricDef::counter(
    "notify_events_replayed_total",
    "Stored events sent again to a reconnecting client (from the ring or JetStream).",
    &[],
);
pub const SSE_REPLAYS: MetricDef = MetricDef::counter(
    "notify_sse_replays_total",
    "Reconnects with a cursor, by outcome: recovered, resync_epoch, resync_too_old, resync_too_many, resync_unavailable.",
    &["outcome"],
);
pub const USERS_ONLINE: MetricDef = MetricDef::gauge(
    "notify_users_online",
    Unit::Count,
    "Users with at least one open SSE connection to this instance.",
    &[],
);
pub const ONLINE_USERS_QUERY_DURATION: MetricDef = MetricDef::histogram(
    "notify_online_users_query_duration_seconds",
    Unit::Seconds,
    "Time to answer GET /online-users.",
    &[],
    LATENCY_SECONDS,
);

/// The declarations owned by notify_server (the shared HTTP and health metrics are added by
/// [`super::catalogue`]).
pub const DECLARED: &[MetricDef] = &[
    SSE_CONNECTIONS_ACTIVE,
    SSE_CONNECTIONS_OPENED,
    SSE_CONNECTIONS_CLOSED,
    SSE_CONNECTIONS_REFUSED,
    SSE_CONNECTION_DURATION,
    NATS_MESSAGES_RECEIVED,
    NATS_MESSAGE_PROCESSING_DURATION,
    NATS_ERRORS,
    NATS_SUBSCRIPTION_ACTIVE,
    EVENTS_BROADCAST,
    EVENTS_DELIVERED,
    EVENT_DELIVERY_LAG,
    BROADCAST_FAILURES,
    EVENTS_REPLAYED,
    SSE_REPLAYS,
    USERS_ONLINE,
    ONLINE_USERS_QUERY_DURATION,
];

/// Recorded for every event written to every connection: their handles are kept, not looked up
/// each time.
static DELIVERED: CountersByLabel = CountersByLabel::counter(EVENTS_DELIVERED);
static DELIVERY_LAG: HistogramsByLabel = HistogramsByLabel::histogram(EVENT_DELIVERY_LAG);

/// SSE connections.
pub struct SseMetrics;

impl SseMetrics {
    pub fn connection_opened() {
        SSE_CONNECTIONS_OPENED.as_counter().increment(1);
        SSE_CONNECTIONS_ACTIVE.as_gauge().increment(1.0);
    }

    /// `reason` is a `fechatter_push::EndReason::as_str`.
    pub fn connection_closed(reason: &'static str, lifetime: Duration) {
        SSE_CONNECTIONS_CLOSED
            .counter_with([("reason", reason)])
            .increment(1);
        SSE_CONNECTIONS_ACTIVE.as_gauge().decrement(1.0);
        SSE_CONNECTION_DURATION
            .as_histogram()
            .record(lifetime.as_secs_f64());
    }

    /// An event written to one client stream; `event` is a `FrameKind::as_str`.
    pub fn delivered(event: &'static str) {
        DELIVERED.increment(event, 1);
    }

    /// How long after its commit a live event reached one connection.
    pub fn delivery_lag(event: &'static str, lag: Duration) {
        DELIVERY_LAG.record(event, lag.as_secs_f64());
    }
}

/// Typing signals from core NATS, recorded by `fechatter_events` (the log reader reports through
/// [`PushRecorder`], which also keeps the subscription gauge).
pub const NATS: SubscriptionMetrics = SubscriptionMetrics {
    received: NATS_MESSAGES_RECEIVED,
    processing: Some(NATS_MESSAGE_PROCESSING_DURATION),
    active: None,
};

pub struct NatsMetrics;

impl NatsMetrics {
    pub fn error(error: LogError) {
        NATS_ERRORS
            .counter_with([("reason", error.as_str())])
            .increment(1);
    }
}

/// Online users.
pub struct PresenceMetrics;

impl PresenceMetrics {
    pub fn query(took: Duration) {
        ONLINE_USERS_QUERY_DURATION
            .as_histogram()
            .record(took.as_secs_f64());
    }
}

/// The push core's reports, as notify's series.
pub struct PushRecorder;

impl PushMetrics for PushRecorder {
    fn event_received(&self, event: &'static str) {
        NATS.received(event);
    }

    fn event_processed(&self, event: &'static str, took: Duration) {
        NATS.processed(event, took);
    }

    fn log_error(&self, error: LogError) {
        NatsMetrics::error(error);
    }

    fn log_subscribed(&self, subscribed: bool) {
        NATS_SUBSCRIPTION_ACTIVE
            .as_gauge()
            .set(if subscribed { 1.0 } else { 0.0 });
    }

    fn broadcast(&self, event: &'static str) {
        EVENTS_BROADCAST
            .counter_with([("event", event)])
            .increment(1);
    }

    fn buffer_full(&self) {
        BROADCAST_FAILURES
            .counter_with([("reason", "buffer_full")])
            .increment(1);
    }

    fn replay(&self, outcome: ReplayOutcome, replayed: usize) {
        SSE_REPLAYS
            .counter_with([("outcome", outcome.as_str())])
            .increment(1);
        EVENTS_REPLAYED.as_counter().increment(replayed as u64);
    }

    fn users_online(&self, count: usize) {
        USERS_ONLINE.as_gauge().set(count as f64);
    }

    fn refused(&self, refusal: Refusal) {
        SSE_CONNECTIONS_REFUSED
            .counter_with([("reason", refusal.as_str())])
            .increment(1);
    }
}

/// Gauges read 0 from the first scrape instead of being absent until something changes.
pub fn initialise() {
    SSE_CONNECTIONS_ACTIVE.as_gauge().increment(0.0);
    USERS_ONLINE.as_gauge().increment(0.0);
    NATS_SUBSCRIPTION_ACTIVE.as_gauge().increment(0.0);
}
