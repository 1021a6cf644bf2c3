//! The WebSocket endpoint's keep-alive, buffering and throttling.

use std::time::Duration;

use env_config::{ConfigError, Env};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebSocketSettings {
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
            buffer: env.bounded("WS_BUFFER", 256, 1, 100_000)?,
            ping_interval: Duration::from_millis(env.bounded(
                "WS_PING_INTERVAL_MS",
                15_000,
                100,
                600_000,
            )?),
            write_timeout: Duration::from_millis(env.bounded(
                "WS_WRITE_TIMEOUT_MS",
                10_000,
                100,
                600_000,
            )?),
            max_message_bytes: env.bounded("WS_MAX_MESSAGE_BYTES", 64 * 1024, 1024, 16 << 20)?,
            typing_throttle: Duration::from_millis(env.bounded(
                "TYPING_THROTTLE_MS",
                2_000,
                0,
                60_000,
            )?),
        })
    }
}
