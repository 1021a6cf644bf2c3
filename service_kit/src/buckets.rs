//! Histogram bucket sets from `docs/design/metrics.md`. Every histogram uses one of these explicitly, so
//! `histogram_quantile` works over `_bucket` series.

/// HTTP, database and NATS latency: 0.5 ms to 10 s.
pub const LATENCY_SECONDS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Sizes in powers of 4 from 1 KiB to 64 MiB.
pub const SIZE_BYTES: &[f64] = &[
    1024.0,
    4096.0,
    16384.0,
    65536.0,
    262_144.0,
    1_048_576.0,
    4_194_304.0,
    16_777_216.0,
    67_108_864.0,
];

/// Long-lived things such as connections and sessions: 1 s to 1 day.
pub const LIFETIME_SECONDS: &[f64] = &[
    1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 14_400.0, 86_400.0,
];

/// Item counts such as batch sizes and result rows.
pub const COUNT: &[f64] = &[
    1.0, 5.0, 10.0, 50.0, 100.0, 500.0, 1000.0, 5000.0, 10_000.0, 50_000.0,
];

/// Slow outside calls such as an LLM answering: 10 ms to 2 minutes.
pub const SLOW_SECONDS: &[f64] = &[
    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];

/// Latency that can include a dependency outage or a language model's answer, from the event's
/// making to its effect (delivery lag, event processing): 1 ms to 2 minutes, with an `le="1"`
/// bucket for the delivery objective (`docs/design/alerts.md`).
pub const END_TO_END_SECONDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];
