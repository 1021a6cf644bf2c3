//! Every notify_server metric, declared once, recorded only through the functions below.

use std::time::Duration;

use observability::buckets::{END_TO_END_SECONDS, LATENCY_SECONDS, LIFETIME_SECONDS};
use observability::{MetricDef, Unit};

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
    "SSE connections ended, by reason: client_closed, slow_consumer, shutdown, token_expired.",
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
    "Messages received from NATS (durable events and typing signals), by event kind.",
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
    "NATS failures, by reason: malformed, ack_failed, subscription, dead_letter_failed, replay.",
    &["reason"],
);
pub const NATS_SUBSCRIPTION_ACTIVE: MetricDef = MetricDef::gauge(
    "notify_nats_subscription_active",
    Unit::Count,
    "1 while the durable JetStream consumer is subscribed and connected, else 0.",
    &[],
);
pub const EVENTS_DEAD_LETTERED: MetricDef = MetricDef::counter(
    "notify_events_dead_lettered_total",
    "Stored events notify gave up on and published to its dead-letter subject.",
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
    "Stored events sent again to a reconnecting client from JetStream.",
    &[],
);
pub const USERS_ONLINE: MetricDef = MetricDef::gauge(
    "notify_users_online",
    Unit::Count,
    "Users with at least one open SSE connection.",
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
    SSE_CONNECTION_DURATION,
    NATS_MESSAGES_RECEIVED,
    NATS_MESSAGE_PROCESSING_DURATION,
    NATS_ERRORS,
    NATS_SUBSCRIPTION_ACTIVE,
    EVENTS_DEAD_LETTERED,
    EVENTS_BROADCAST,
    EVENTS_DELIVERED,
    EVENT_DELIVERY_LAG,
    BROADCAST_FAILURES,
    EVENTS_REPLAYED,
    USERS_ONLINE,
    ONLINE_USERS_QUERY_DURATION,
];

/// Why an SSE connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The client went away.
    ClientClosed,
    /// The connection's buffer filled up: it could not keep up with its events.
    SlowConsumer,
    /// The server is shutting down.
    Shutdown,
    /// The access token the stream was opened with expired; the client reconnects with a new one.
    TokenExpired,
}

impl CloseReason {
    pub const fn as_str(self) -> &'static str {
        match self {
            CloseReason::ClientClosed => "client_closed",
            CloseReason::SlowConsumer => "slow_consumer",
            CloseReason::Shutdown => "shutdown",
            CloseReason::TokenExpired => "token_expired",
        }
    }
}

/// What went wrong with NATS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NatsErrorReason {
    /// A message that is not a valid envelope or typing signal.
    Malformed,
    AckFailed,
    /// Subscribing failed, or the consumer's message stream broke.
    Subscription,
    /// An event could not be published to the dead-letter subject.
    DeadLetterFailed,
    /// Reading missed events from JetStream for a reconnecting client failed.
    Replay,
}

impl NatsErrorReason {
    pub const fn as_str(self) -> &'static str {
        match self {
            NatsErrorReason::Malformed => "malformed",
            NatsErrorReason::AckFailed => "ack_failed",
            NatsErrorReason::Subscription => "subscription",
            NatsErrorReason::DeadLetterFailed => "dead_letter_failed",
            NatsErrorReason::Replay => "replay",
        }
    }
}

/// SSE connections.
pub struct SseMetrics;

impl SseMetrics {
    pub fn connection_opened() {
        SSE_CONNECTIONS_OPENED.as_counter().increment(1);
        SSE_CONNECTIONS_ACTIVE.as_gauge().increment(1.0);
    }

    pub fn connection_closed(reason: CloseReason, lifetime: Duration) {
        SSE_CONNECTIONS_CLOSED
            .counter_with([("reason", reason.as_str())])
            .increment(1);
        SSE_CONNECTIONS_ACTIVE.as_gauge().decrement(1.0);
        SSE_CONNECTION_DURATION
            .as_histogram()
            .record(lifetime.as_secs_f64());
    }

    /// An event written to one client stream; `event` is a `FrameKind::as_str`.
    pub fn delivered(event: &'static str) {
        EVENTS_DELIVERED
            .counter_with([("event", event)])
            .increment(1);
    }

    /// How long after its commit a live event reached one connection.
    pub fn delivery_lag(event: &'static str, lag: Duration) {
        EVENT_DELIVERY_LAG
            .histogram_with([("event", event)])
            .record(lag.as_secs_f64());
    }

    pub fn replayed(count: usize) {
        EVENTS_REPLAYED.as_counter().increment(count as u64);
    }
}

/// The JetStream consumer and the core-NATS signals.
pub struct NatsMetrics;

impl NatsMetrics {
    /// `event` is an `EventKind::as_str`, `typing`, or `unknown` for a subject of no known kind.
    pub fn received(event: &'static str) {
        NATS_MESSAGES_RECEIVED
            .counter_with([("event", event)])
            .increment(1);
    }

    pub fn processed(event: &'static str, took: Duration) {
        NATS_MESSAGE_PROCESSING_DURATION
            .histogram_with([("event", event)])
            .record(took.as_secs_f64());
    }

    pub fn error(reason: NatsErrorReason) {
        NATS_ERRORS
            .counter_with([("reason", reason.as_str())])
            .increment(1);
    }

    pub fn subscription_active(active: bool) {
        NATS_SUBSCRIPTION_ACTIVE
            .as_gauge()
            .set(if active { 1.0 } else { 0.0 });
    }

    pub fn dead_lettered() {
        EVENTS_DEAD_LETTERED.as_counter().increment(1);
    }
}

/// The in-process hub.
pub struct BroadcastMetrics;

impl BroadcastMetrics {
    pub fn broadcast(event: &'static str) {
        EVENTS_BROADCAST
            .counter_with([("event", event)])
            .increment(1);
    }

    /// A connection's buffer was full: it is cut off rather than skipped or allowed to grow.
    pub fn buffer_full() {
        BROADCAST_FAILURES
            .counter_with([("reason", "buffer_full")])
            .increment(1);
    }
}

/// Online users.
pub struct PresenceMetrics;

impl PresenceMetrics {
    pub fn users_online(count: usize) {
        USERS_ONLINE.as_gauge().set(count as f64);
    }

    pub fn query(took: Duration) {
        ONLINE_USERS_QUERY_DURATION
            .as_histogram()
            .record(took.as_secs_f64());
    }
}

/// Gauges read 0 from the first scrape instead of being absent until something changes.
pub fn initialise() {
    SSE_CONNECTIONS_ACTIVE.as_gauge().increment(0.0);
    USERS_ONLINE.as_gauge().increment(0.0);
    NATS_SUBSCRIPTION_ACTIVE.as_gauge().increment(0.0);
    // The dead-letter alert looks at the increase over a window, which a counter born at 1 would
    // not show.
    EVENTS_DEAD_LETTERED.as_counter().increment(0);
}
