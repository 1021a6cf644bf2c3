//! Incoming and outgoing webhooks: how many a chat may have, how fast an integration may post, and
//! how outgoing deliveries are sent and retried.

use std::time::Duration;

use env_config::{ConfigError, Env};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookSettings {
    /// Active webhooks per chat, incoming and outgoing together (422 `too_many_webhooks`).
    pub max_per_chat: i64,
    /// Whether outgoing URLs may name (or resolve to) loopback, private, link-local or other
    /// non-public addresses. Off by default: a chat admin must not reach the deployment's own
    /// network through the server (SSRF). Tests and single-host set-ups turn it on.
    pub allow_private_addresses: bool,
    /// One delivery attempt's deadline (connect, send, response).
    pub timeout: Duration,
    /// Attempts per delivery before it is marked failed.
    pub max_attempts: i32,
    /// The wait after the first failed attempt; it doubles after each further one, up to
    /// `retry_max`.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// How often the deliverer looks for due deliveries.
    pub poll_interval: Duration,
    /// Deliveries attempted at once by one instance.
    pub concurrency: usize,
}

impl WebhookSettings {
    pub fn from(env: &Env) -> Result<Self, ConfigError> {
        let settings = Self {
            max_per_chat: env.bounded("MAX_WEBHOOKS_PER_CHAT", 10, 1, 1000)?,
            allow_private_addresses: env.bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", false)?,
            timeout: env.bounded_millis("WEBHOOK_TIMEOUT_MS", 5000, 100, 60_000)?,
            max_attempts: env.bounded("WEBHOOK_MAX_ATTEMPTS", 8, 1, 100)?,
            retry_base: env.bounded_millis("WEBHOOK_RETRY_BASE_MS", 1000, 10, 3_600_000)?,
            retry_max: env.bounded_millis("WEBHOOK_RETRY_MAX_MS", 3_600_000, 10, 86_400_000)?,
            poll_interval: env.bounded_millis("WEBHOOK_POLL_INTERVAL_MS", 1000, 10, 60_000)?,
            concurrency: env.bounded("WEBHOOK_CONCURRENCY", 8, 1, 256)?,
        };
        if settings.retry_max < settings.retry_base {
            return Err(ConfigError::Invalid {
                variable: env.variable("WEBHOOK_RETRY_MAX_MS"),
                value: settings.retry_max.as_millis().to_string(),
                reason: "must be at least FECHATTER_WEBHOOK_RETRY_BASE_MS".to_owned(),
            });
        }
        Ok(settings)
    }

    /// The wait before attempt `attempts + 1`, after `attempts` failed ones.
    pub fn retry_after(&self, attempts: i32) -> Duration {
        let doublings = u32::try_from(attempts.saturating_sub(1))
            .unwrap_or(0)
            .min(30);
        self.retry_base
            .saturating_mul(2u32.saturating_pow(doublings))
            .min(self.retry_max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_doubling_up_to_the_maximum() {
        let env = Env::from_map(
            "FECHATTER",
            [
                ("FECHATTER_WEBHOOK_RETRY_BASE_MS", "100"),
                ("FECHATTER_WEBHOOK_RETRY_MAX_MS", "350"),
            ],
        );
        let settings = WebhookSettings::from(&env).unwrap_or_else(|err| panic!("{err}"));
        let waits: Vec<u128> = (1..=4)
            .map(|n| settings.retry_after(n).as_millis())
            .collect();
        assert_eq!(waits, vec![100, 200, 350, 350]);
        assert!(
            !settings.allow_private_addresses,
            "private addresses are refused by default"
        );
        let inverted = Env::from_map(
            "FECHATTER",
            [
                ("FECHATTER_WEBHOOK_RETRY_BASE_MS", "1000"),
                ("FECHATTER_WEBHOOK_RETRY_MAX_MS", "10"),
            ],
        );
        assert!(WebhookSettings::from(&inverted).is_err());
    }
}
