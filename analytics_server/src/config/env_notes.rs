//! The prose of the generated environment table (`cargo run -p xtask -- env-doc`): the
//! variables, defaults and ranges come from what `Config::from` reads.

/// What each variable read here means, for the generated environment table of
/// `docs/development.md` (by name without the prefix).
pub const ENV_NOTES: &[(&str, &str)] = &[
    ("CLICKHOUSE_DATABASE", "created at start-up"),
    ("CLICKHOUSE_URL", "ClickHouse's HTTP interface"),
    ("CLICKHOUSE_USER", "with `ANALYTICS_CLICKHOUSE_PASSWORD`"),
    ("CLICKHOUSE_PASSWORD", "a secret"),
    (
        "DEAD_LETTER_RETENTION_DAYS",
        "the dead-letter stream's retention; keep it equal to bot's",
    ),
    ("BATCH_MAX_EVENTS", "per `POST /api/events`"),
    ("BATCH_MAX_BYTES", "one `POST /api/events` body"),
    (
        "EVENT_MAX_FUTURE_MS",
        "how far ahead of now a client event may be",
    ),
    ("EVENT_MAX_AGE_MS", "30 days: how old a client event may be"),
    ("EVENT_MAX_PROPERTIES_BYTES", "one event's properties"),
    ("RATE_LIMIT_PER_USER_PER_MINUTE", "on `POST /api/event(s)`"),
    (
        "RATE_LIMIT_PER_ADDRESS_PER_MINUTE",
        "on `POST /api/event(s)`; IPv6 per /64",
    ),
    ("TRUSTED_PROXY_HOPS", "as `FECHATTER_TRUSTED_PROXY_HOPS`"),
    ("FLUSH_MAX_ROWS", "rows per insert"),
    (
        "BUFFER_CAPACITY",
        "events between the consumers and ClickHouse; a consumer waits for room; ≥ `ANALYTICS_BATCH_MAX_EVENTS`",
    ),
    (
        "FLUSH_INTERVAL_MS",
        "the longest an event waits to be inserted",
    ),
    ("DEDUP_WINDOW", "recently written ids"),
    ("CLICKHOUSE_TIMEOUT_MS", "one insert or query"),
    (
        "NATS_ACK_WAIT_MS",
        "consumers `analytics` (domain events) and `analytics_client_events` (client events, stored in `FECHATTER_CLIENT_EVENTS` before the `202`; NATS down = ingestion answers 503): how long JetStream waits for an ack",
    ),
    (
        "NATS_MAX_DELIVER",
        "deliveries of an event that fails on its own, then stored in `FECHATTER_DEAD_LETTERS` on `<prefix>.dlq.analytics`; deliveries are not spent while ClickHouse is down",
    ),
    ("NATS_MAX_ACK_PENDING", "domain events in hand"),
    ("SESSION_TIMEOUT_MS", "inactivity that ends a session"),
    (
        "GAUGES_INTERVAL_MS",
        "how often the business gauges are computed",
    ),
    (
        "CORS_ORIGINS",
        "as `NOTIFY_CORS_ORIGINS`: the browser origins allowed to post client events",
    ),
];
