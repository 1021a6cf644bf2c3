//! The WebSocket endpoint's keep-alive, buffering and throttling.

use std::time::Duration;

use env_config::{ConfigError, Env};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebSocketSettings {
    /// Sockets one user may hold on this instance; the next is refused with 429.
    pub max_connections_per_user: usize,
    /// Recent events held in memory for resuming sockets; older ones are read from JetStream.
    pub ring_events: usize,
    /// A resume that missed more of its own events than this gets `resync` (`too_many`).
    pub replay_max_events: usize,
    /// A resume further behind than this many stream events gets `resync` (`too_many`).
    pub replay_max_scan: u64,
    /// A resume whose first missed event is older than this gets `resync` (`too_old`).
    pub replay_max_age: Duration,
    /// Resumes reading JetStream at once.
    pub replay_concurrency: usize,
    /// Frames waiting to be written to one connection; a connection whose queue fills (a client
    /// that stopped reading) is cut off, so memory per connection stays bounded.
    pub buffer: usize,
    /// A ping every interval; a peer silent for two intervals (not even a pong) is dropped.
    pub ping_interval: Duration,
    /// A frame that cannot be written within this time cuts the connection off.
    pub write_timeout: Duration,
    /// The largest client message accepted.
    pub max_message_bytes: usize,
    /// At most one typing signal per user and chat in this interval.
    pub typing_throttle: Duration,
}

impl WebSocketSettings {
    pub fn from(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            max_connections_per_user: env.bounded("WS_MAX_CONNECTIONS_PER_USER", 20, 1, 10_000)?,
            ring_events: env.bounded("WS_RING_EVENTS", 10_000, 1, 10_000_000)?,
            replay_max_events: env.bounded("WS_REPLAY_MAX_EVENTS", 1_000, 1, 100_000)?,
            replay_max_scan: env.bounded("WS_REPLAY_MAX_SCAN", 100_000, 1, 10_000_000)?,
            replay_max_age: env.bounded_seconds(
                "WS_REPLAY_MAX_AGE_SECONDS",
                3_600,
                1,
                30 * 24 * 3_600,
            )?,
            replay_concurrency: env.bounded("WS_REPLAY_CONCURRENCY", 8, 1, 1_000)?,
            buffer: env.bounded("WS_BUFFER", 256, 1, 100_000)?,
            ping_interval: env.bounded_millis("WS_PING_INTERVAL_MS", 15_000, 100, 600_000)?,
            write_timeout: env.bounded_millis("WS_WRITE_TIMEOUT_MS", 10_000, 100, 600_000)?,
            max_message_bytes: env.bounded("WS_MAX_MESSAGE_BYTES", 64 * 1024, 1024, 16 << 20)?,
            typing_throttle: env.bounded_millis("TYPING_THROTTLE_MS", 2_000, 0, 60_000)?,
        })
    }
}
