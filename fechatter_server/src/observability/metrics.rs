//! Every fechatter_server metric, declared once, recorded only through the functions below.

use std::time::Duration;

use fechatter_events::{ChatType, EventKind};
use fechatter_push::{LogError, PushMetrics, Refusal, ReplayOutcome};
use postgres_kit::PostgresMetrics;
use service_kit::buckets::{END_TO_END_SECONDS, LATENCY_SECONDS, SIZE_BYTES, SLOW_SECONDS};
use service_kit::{MetricDef, Unit};

pub const DB_CONNECTIONS_ACTIVE: MetricDef = MetricDef::gauge(
    "fechatter_db_connections_active",
    Unit::Count,
    "Pool connections checked out right now (sampled every second).",
    &[],
);
pub const DB_CONNECTIONS_IDLE: MetricDef = MetricDef::gauge(
    "fechatter_db_connections_idle",
    Unit::Count,
    "Open pool connections that are idle (sampled every second).",
    &[],
);
pub const DB_CONNECTIONS_MAX: MetricDef = MetricDef::gauge(
    "fechatter_db_connections_max",
    Unit::Count,
    "The configured maximum size of the connection pool.",
    &[],
);
pub const DB_QUERY_DURATION: MetricDef = MetricDef::histogram(
    "fechatter_db_query_duration_seconds",
    Unit::Seconds,
    "Time each database operation took, connection acquisition included, by operation.",
    &["operation"],
    LATENCY_SECONDS,
);
pub const DB_ERRORS: MetricDef = MetricDef::counter(
    "fechatter_db_errors_total",
    "Database operations that failed, by operation.",
    &["operation"],
);
pub const CACHE_REQUESTS: MetricDef = MetricDef::counter(
    "fechatter_cache_requests_total",
    "Cache look-ups by cache and result (hit or miss).",
    &["cache", "result"],
);
pub const CACHE_OPERATION_DURATION: MetricDef = MetricDef::histogram(
    "fechatter_cache_operation_duration_seconds",
    Unit::Seconds,
    "Time of cache operations: a hit, a load after a miss (the database query included), an invalidation.",
    &["cache", "operation"],
    LATENCY_SECONDS,
);
pub const CACHE_ENTRIES: MetricDef = MetricDef::gauge(
    "fechatter_cache_entries",
    Unit::Count,
    "Entries held by each cache (sampled every second).",
    &["cache"],
);
pub const CACHE_SIZE: MetricDef = MetricDef::gauge(
    "fechatter_cache_size_bytes",
    Unit::Bytes,
    "Bytes held by each cache bounded by size rather than entries (pages: serialised message-list pages; sampled every second).",
    &["cache"],
);
pub const MESSAGES_SENT: MetricDef = MetricDef::counter(
    "fechatter_messages_sent_total",
    "Messages stored, by chat type (idempotent replays are not counted).",
    &["chat_type"],
);
pub const MESSAGES_FETCHED: MetricDef = MetricDef::counter(
    "fechatter_messages_fetched_total",
    "Messages returned by message list requests.",
    &[],
);
pub const MESSAGE_SEND_DURATION: MetricDef = MetricDef::histogram(
    "fechatter_message_send_duration_seconds",
    Unit::Seconds,
    "Time to validate and store a message with its event.",
    &[],
    LATENCY_SECONDS,
);
pub const EVENTS_PUBLISHED: MetricDef = MetricDef::counter(
    "fechatter_events_published_total",
    "Domain events acknowledged by JetStream, by kind.",
    &["event"],
);
pub const EVENTS_PUBLISH_ERRORS: MetricDef = MetricDef::counter(
    "fechatter_events_publish_errors_total",
    "Attempts to publish an outbox event that failed (NATS down, no ack, stream missing).",
    &[],
);
pub const OUTBOX_PENDING: MetricDef = MetricDef::gauge(
    "fechatter_outbox_pending_events",
    Unit::Count,
    "Events committed to the outbox and not yet acknowledged by JetStream (sampled every second).",
    &[],
);
pub const OUTBOX_OLDEST_PENDING: MetricDef = MetricDef::gauge(
    "fechatter_outbox_oldest_pending_seconds",
    Unit::Seconds,
    "Age of the oldest event waiting in the outbox; 0 when it is empty (sampled every second).",
    &[],
);
pub const USERS_ACTIVE: MetricDef = MetricDef::gauge(
    "fechatter_users_active",
    Unit::Count,
    "Distinct users who made an authenticated request in the last 5 minutes.",
    &[],
);
pub const CHATS_CREATED: MetricDef = MetricDef::counter(
    "fechatter_chats_created_total",
    "Chats created, by chat type (returning an existing direct chat is not counted).",
    &["chat_type"],
);
pub const SIGNUPS: MetricDef =
    MetricDef::counter("fechatter_signups_total", "Users who signed up.", &[]);
pub const SIGNINS: MetricDef = MetricDef::counter(
    "fechatter_signins_total",
    "Sign-in attempts by result (success or failure).",
    &["result"],
);

pub const FILE_UPLOADS: MetricDef = MetricDef::counter(
    "fechatter_file_uploads_total",
    "Upload attempts by result (success, too_large, quota_exceeded, unsupported_type, invalid, failed).",
    &["result"],
);
pub const FILE_UPLOAD_SIZE: MetricDef = MetricDef::histogram(
    "fechatter_file_upload_size_bytes",
    Unit::Bytes,
    "Size of each file stored.",
    &[],
    SIZE_BYTES,
);
pub const FILE_UPLOAD_DURATION: MetricDef = MetricDef::histogram(
    "fechatter_file_upload_duration_seconds",
    Unit::Seconds,
    "Time to receive, check and store an upload, whatever its result.",
    &[],
    SLOW_SECONDS,
);
pub const FILE_SWEEP_REMOVED: MetricDef = MetricDef::counter(
    "fechatter_file_sweep_removed_total",
    "What the periodic file sweep removed, by kind: file (an upload no live message references, past its grace), blob (bytes on disk no upload has as content), temp (a leftover temporary upload file).",
    &["kind"],
);
pub const FILE_SWEEP_RUNS: MetricDef = MetricDef::counter(
    "fechatter_file_sweep_runs_total",
    "Runs of the periodic file sweep by result (ok, failed).",
    &["result"],
);
pub const WEBSOCKET_CONNECTIONS_ACTIVE: MetricDef = MetricDef::gauge(
    "fechatter_websocket_connections_active",
    Unit::Count,
    "Open WebSocket connections.",
    &[],
);
pub const WEBSOCKET_MESSAGES: MetricDef = MetricDef::counter(
    "fechatter_websocket_messages_total",
    "WebSocket data frames by direction: in (client commands) and out (acks, errors, events).",
    &["direction"],
);
pub const WEBSOCKET_EVENT_DELIVERY_LAG: MetricDef = MetricDef::histogram(
    "fechatter_websocket_event_delivery_lag_seconds",
    Unit::Seconds,
    "From a stored event's occurred_at to its live write to a WebSocket, by event kind (resumes are not included).",
    &["event"],
    END_TO_END_SECONDS,
);
pub const WEBSOCKET_REPLAYS: MetricDef = MetricDef::counter(
    "fechatter_websocket_replays_total",
    "Sockets opened with a cursor, by outcome: recovered, resync_epoch, resync_too_old, resync_too_many, resync_unavailable.",
    &["outcome"],
);
pub const WEBSOCKET_CONNECTIONS_REFUSED: MetricDef = MetricDef::counter(
    "fechatter_websocket_connections_refused_total",
    "Authenticated WebSocket upgrades refused, by reason: too_many_connections (the user's cap), session_revoked, shutting_down, over_capacity.",
    &["reason"],
);
pub const WEBSOCKET_LOG_ERRORS: MetricDef = MetricDef::counter(
    "fechatter_websocket_log_errors_total",
    "Problems of the event log reader that feeds the sockets, by reason: malformed (skipped), duplicate (an event id published again, pushed once), subscription (the reader restarted), replay.",
    &["reason"],
);
pub const RATE_LIMITED: MetricDef = MetricDef::counter(
    "fechatter_rate_limited_total",
    "Requests refused with 429, by route template.",
    &["route"],
);
pub const SEARCH_REQUESTS: MetricDef = MetricDef::counter(
    "fechatter_search_requests_total",
    "Searches answered by GET /api/search (valid queries that ran).",
    &[],
);

pub const WEBHOOK_DELIVERIES: MetricDef = MetricDef::counter(
    "fechatter_webhook_deliveries_total",
    "Outgoing webhook delivery attempts by result: delivered (2xx), retry (failed, another attempt follows) or failed (failed, out of attempts).",
    &["result"],
);
pub const WEBHOOK_DELIVERY_DURATION: MetricDef = MetricDef::histogram(
    "fechatter_webhook_delivery_duration_seconds",
    Unit::Seconds,
    "Time of one outgoing webhook delivery attempt, from resolving the host to the receiver's response.",
    &[],
    SLOW_SECONDS,
);
pub const WEBHOOK_DELIVERIES_PENDING: MetricDef = MetricDef::gauge(
    "fechatter_webhook_deliveries_pending",
    Unit::Count,
    "Outgoing webhook deliveries waiting for an attempt (sampled by the deliverer at each poll).",
    &[],
);
pub const WEBHOOK_INCOMING_MESSAGES: MetricDef = MetricDef::counter(
    "fechatter_webhook_incoming_messages_total",
    "Messages posted through incoming webhooks.",
    &[],
);

/// The declarations owned by fechatter_server (the shared HTTP and health metrics are added by
/// [`super::catalogue`]).
pub const DECLARED: &[MetricDef] = &[
    DB_CONNECTIONS_ACTIVE,
    DB_CONNECTIONS_IDLE,
    DB_CONNECTIONS_MAX,
    DB_QUERY_DURATION,
    DB_ERRORS,
    CACHE_REQUESTS,
    CACHE_OPERATION_DURATION,
    CACHE_ENTRIES,
    CACHE_SIZE,
    MESSAGES_SENT,
    MESSAGES_FETCHED,
    MESSAGE_SEND_DURATION,
    EVENTS_PUBLISHED,
    EVENTS_PUBLISH_ERRORS,
    OUTBOX_PENDING,
    OUTBOX_OLDEST_PENDING,
    USERS_ACTIVE,
    CHATS_CREATED,
    SIGNUPS,
    SIGNINS,
    FILE_UPLOADS,
    FILE_UPLOAD_SIZE,
    FILE_UPLOAD_DURATION,
    FILE_SWEEP_REMOVED,
    FILE_SWEEP_RUNS,
    WEBSOCKET_CONNECTIONS_ACTIVE,
    WEBSOCKET_MESSAGES,
    WEBSOCKET_EVENT_DELIVERY_LAG,
    WEBSOCKET_REPLAYS,
    WEBSOCKET_CONNECTIONS_REFUSED,
    WEBSOCKET_LOG_ERRORS,
    RATE_LIMITED,
    SEARCH_REQUESTS,
    WEBHOOK_DELIVERIES,
    WEBHOOK_DELIVERY_DURATION,
    WEBHOOK_DELIVERIES_PENDING,
    WEBHOOK_INCOMING_MESSAGES,
];

/// Counters that alerts and dashboards rate over must exist from the start, not from their first
/// increment.
pub fn initialise() {
    EVENTS_PUBLISH_ERRORS.as_counter().increment(0);
    SIGNUPS.as_counter().increment(0);
    MESSAGES_FETCHED.as_counter().increment(0);
    WEBHOOK_INCOMING_MESSAGES.as_counter().increment(0);
    for result in [
        WebhookResult::Delivered,
        WebhookResult::Retry,
        WebhookResult::Failed,
    ] {
        WEBHOOK_DELIVERIES
            .counter_with([("result", result.as_str())])
            .increment(0);
    }
    WEBSOCKET_CONNECTIONS_ACTIVE.as_gauge().set(0.0);
    for direction in [Direction::In, Direction::Out] {
        WEBSOCKET_MESSAGES
            .counter_with([("direction", direction.as_str())])
            .increment(0);
    }
    FILE_UPLOADS
        .counter_with([("result", UploadResult::Success.as_str())])
        .increment(0);
    for kind in [Swept::File, Swept::Blob, Swept::Temp] {
        FILE_SWEEP_REMOVED
            .counter_with([("kind", kind.as_str())])
            .increment(0);
    }
    for ok in [true, false] {
        FILE_SWEEP_RUNS
            .counter_with([("result", sweep_result(ok))])
            .increment(0);
    }
    SEARCH_REQUESTS.as_counter().increment(0);
}

/// The connection pool's occupancy and each database operation, recorded by `postgres_kit`.
pub const POSTGRES: PostgresMetrics = PostgresMetrics {
    query_duration: DB_QUERY_DURATION,
    errors: DB_ERRORS,
    connections_active: DB_CONNECTIONS_ACTIVE,
    connections_idle: Some(DB_CONNECTIONS_IDLE),
    connections_max: DB_CONNECTIONS_MAX,
};

/// The in-process caches, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheName {
    Sessions,
    Chats,
    Users,
    /// Message-list pages (`cache::pages`); an entry is a chat with pages held.
    Pages,
}

impl CacheName {
    pub const ALL: [CacheName; 4] = [
        CacheName::Sessions,
        CacheName::Chats,
        CacheName::Users,
        CacheName::Pages,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            CacheName::Sessions => "sessions",
            CacheName::Chats => "chats",
            CacheName::Users => "users",
            CacheName::Pages => "pages",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOperation {
    Hit,
    Load,
    Invalidate,
}

impl CacheOperation {
    const fn as_str(self) -> &'static str {
        match self {
            CacheOperation::Hit => "hit",
            CacheOperation::Load => "load",
            CacheOperation::Invalidate => "invalidate",
        }
    }
}

pub struct CacheMetrics;

impl CacheMetrics {
    pub fn lookup(cache: CacheName, hit: bool) {
        let result = if hit { "hit" } else { "miss" };
        CACHE_REQUESTS
            .counter_with([("cache", cache.as_str()), ("result", result)])
            .increment(1);
    }

    pub fn operation(cache: CacheName, operation: CacheOperation, elapsed: Duration) {
        CACHE_OPERATION_DURATION
            .histogram_with([("cache", cache.as_str()), ("operation", operation.as_str())])
            .record(elapsed.as_secs_f64());
    }

    pub fn entries(cache: CacheName, entries: u64) {
        CACHE_ENTRIES
            .gauge_with([("cache", cache.as_str())])
            .set(entries as f64);
    }

    pub fn size(cache: CacheName, bytes: u64) {
        CACHE_SIZE
            .gauge_with([("cache", cache.as_str())])
            .set(bytes as f64);
    }
}

pub struct MessageMetrics;

impl MessageMetrics {
    pub fn sent(chat_type: ChatType, elapsed: Duration) {
        MESSAGES_SENT
            .counter_with([("chat_type", chat_type.as_str())])
            .increment(1);
        MESSAGE_SEND_DURATION
            .as_histogram()
            .record(elapsed.as_secs_f64());
    }

    pub fn fetched(count: usize) {
        MESSAGES_FETCHED.as_counter().increment(count as u64);
    }
}

pub struct EventMetrics;

impl EventMetrics {
    pub fn published(kind: EventKind) {
        EVENTS_PUBLISHED
            .counter_with([("event", kind.as_str())])
            .increment(1);
    }

    pub fn publish_failed() {
        EVENTS_PUBLISH_ERRORS.as_counter().increment(1);
    }

    pub fn outbox_backlog(pending: i64, oldest_seconds: f64) {
        OUTBOX_PENDING.as_gauge().set(pending as f64);
        OUTBOX_OLDEST_PENDING
            .as_gauge()
            .set(oldest_seconds.max(0.0));
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigninResult {
    Success,
    Failure,
}

pub struct BusinessMetrics;

impl BusinessMetrics {
    pub fn users_active(count: u64) {
        USERS_ACTIVE.as_gauge().set(count as f64);
    }

    pub fn chat_created(chat_type: ChatType) {
        CHATS_CREATED
            .counter_with([("chat_type", chat_type.as_str())])
            .increment(1);
    }

    pub fn signed_up() {
        SIGNUPS.as_counter().increment(1);
    }

    pub fn signed_in(result: SigninResult) {
        let result = match result {
            SigninResult::Success => "success",
            SigninResult::Failure => "failure",
        };
        SIGNINS.counter_with([("result", result)]).increment(1);
    }
}

/// How an upload ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadResult {
    Success,
    TooLarge,
    /// The uploader's or their workspace's quota would be exceeded.
    QuotaExceeded,
    UnsupportedType,
    /// Malformed multipart, an empty file, a client that went away.
    Invalid,
    /// Our side failed (disk, database).
    Failed,
}

impl UploadResult {
    pub const fn as_str(self) -> &'static str {
        match self {
            UploadResult::Success => "success",
            UploadResult::TooLarge => "too_large",
            UploadResult::QuotaExceeded => "quota_exceeded",
            UploadResult::UnsupportedType => "unsupported_type",
            UploadResult::Invalid => "invalid",
            UploadResult::Failed => "failed",
        }
    }
}

pub struct FileMetrics;

impl FileMetrics {
    pub fn upload(result: UploadResult, elapsed: Duration) {
        FILE_UPLOADS
            .counter_with([("result", result.as_str())])
            .increment(1);
        FILE_UPLOAD_DURATION
            .as_histogram()
            .record(elapsed.as_secs_f64());
    }

    pub fn stored(size_bytes: u64) {
        FILE_UPLOAD_SIZE.as_histogram().record(size_bytes as f64);
    }

    pub fn swept(kind: Swept, count: u64) {
        FILE_SWEEP_REMOVED
            .counter_with([("kind", kind.as_str())])
            .increment(count);
    }

    pub fn sweep_run(ok: bool) {
        FILE_SWEEP_RUNS
            .counter_with([("result", sweep_result(ok))])
            .increment(1);
    }
}

/// What the file sweep removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Swept {
    /// An upload's row: no live message references it any more.
    File,
    /// Bytes on disk that no upload has as its content.
    Blob,
    /// A temporary upload file left by an upload that never finished.
    Temp,
}

impl Swept {
    const fn as_str(self) -> &'static str {
        match self {
            Swept::File => "file",
            Swept::Blob => "blob",
            Swept::Temp => "temp",
        }
    }
}

const fn sweep_result(ok: bool) -> &'static str {
    if ok { "ok" } else { "failed" }
}

/// Which way a WebSocket frame went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    In,
    Out,
}

impl Direction {
    const fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}

pub struct WebSocketMetrics;

impl WebSocketMetrics {
    pub fn opened() {
        WEBSOCKET_CONNECTIONS_ACTIVE.as_gauge().increment(1.0);
    }

    pub fn closed() {
        WEBSOCKET_CONNECTIONS_ACTIVE.as_gauge().decrement(1.0);
    }

    pub fn frame(direction: Direction) {
        WEBSOCKET_MESSAGES
            .counter_with([("direction", direction.as_str())])
            .increment(1);
    }

    /// A live stored event written `lag` after it occurred.
    pub fn delivery_lag(event: &'static str, lag: Duration) {
        WEBSOCKET_EVENT_DELIVERY_LAG
            .histogram_with([("event", event)])
            .record(lag.as_secs_f64());
    }
}

/// The push core's reports, as the WebSocket's series. The hub's broadcast counts, processing
/// times and online users are notify's concern (its series); the sockets record what they need
/// to be operated: lag, resumes, refusals and the reader's trouble.
pub struct WebSocketPushRecorder;

impl PushMetrics for WebSocketPushRecorder {
    fn event_received(&self, _event: &'static str) {}

    fn event_processed(&self, _event: &'static str, _took: Duration) {}

    fn log_error(&self, error: LogError) {
        WEBSOCKET_LOG_ERRORS
            .counter_with([("reason", error.as_str())])
            .increment(1);
    }

    fn log_subscribed(&self, _subscribed: bool) {}

    fn broadcast(&self, _event: &'static str) {}

    fn buffer_full(&self) {}

    fn replay(&self, outcome: ReplayOutcome, _replayed: usize) {
        WEBSOCKET_REPLAYS
            .counter_with([("outcome", outcome.as_str())])
            .increment(1);
    }

    fn users_online(&self, _count: usize) {}

    fn refused(&self, refusal: Refusal) {
        WEBSOCKET_CONNECTIONS_REFUSED
            .counter_with([("reason", refusal.as_str())])
            .increment(1);
    }
}

pub struct ProtectionMetrics;

impl ProtectionMetrics {
    /// Makes the series of a limited route exist from start-up.
    pub fn prime(route: &'static str) {
        RATE_LIMITED.counter_with([("route", route)]).increment(0);
    }

    /// `route` is a route template (`/api/signin`), never a raw path.
    pub fn rate_limited(route: &'static str) {
        RATE_LIMITED.counter_with([("route", route)]).increment(1);
    }
}

pub struct SearchMetrics;

impl SearchMetrics {
    pub fn searched() {
        SEARCH_REQUESTS.as_counter().increment(1);
    }
}

/// What became of one outgoing webhook delivery attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookResult {
    Delivered,
    Retry,
    Failed,
}

impl WebhookResult {
    pub const fn as_str(self) -> &'static str {
        match self {
            WebhookResult::Delivered => "delivered",
            WebhookResult::Retry => "retry",
            WebhookResult::Failed => "failed",
        }
    }
}

pub struct WebhookMetrics;

impl WebhookMetrics {
    pub fn attempted(result: WebhookResult, elapsed: Duration) {
        WEBHOOK_DELIVERIES
            .counter_with([("result", result.as_str())])
            .increment(1);
        WEBHOOK_DELIVERY_DURATION
            .as_histogram()
            .record(elapsed.as_secs_f64());
    }

    pub fn pending(count: i64) {
        WEBHOOK_DELIVERIES_PENDING.as_gauge().set(count as f64);
    }

    pub fn incoming_posted() {
        WEBHOOK_INCOMING_MESSAGES.as_counter().increment(1);
    }
}
