//! Sign-in attempts per account. The per-address limit alone lets a guesser with many addresses
//! (a botnet, an IPv6 block) try one account without end; this bucket, keyed by the email as
//! typed (trimmed, lower-cased), caps the tries at any one account whoever makes them. Unknown
//! emails have buckets too, so a refusal says nothing about whether the account exists.
//!
//! A guesser can spend a victim's bucket and delay their sign-in for up to an hour: the price of
//! bounding guesses, and why the default is generous.

use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::AppError;
use crate::observability::metrics::ProtectionMetrics;

/// Longer keys cannot be real addresses; cutting them bounds the memory one key takes.
const MAX_KEY_CHARS: usize = 254;
const ROUTE: &str = "/api/signin";

pub struct SigninThrottle {
    per_account: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl std::fmt::Debug for SigninThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigninThrottle").finish_non_exhaustive()
    }
}

impl SigninThrottle {
    pub fn new(per_hour: u32) -> Self {
        let per_hour = NonZeroU32::new(per_hour).unwrap_or(NonZeroU32::MIN);
        Self {
            per_account: RateLimiter::keyed(Quota::per_hour(per_hour)),
            clock: DefaultClock::default(),
        }
    }

    /// Takes one attempt at `email`'s account, or 429 when its attempts are spent.
    pub fn check(&self, email: &str) -> Result<(), AppError> {
        let key: String = email
            .trim()
            .to_lowercase()
            .chars()
            .take(MAX_KEY_CHARS)
            .collect();
        self.per_account.check_key(&key).map_err(|not_until| {
            ProtectionMetrics::rate_limited(ROUTE);
            AppError::RateLimited(not_until.wait_time_from(self.clock.now()))
        })
    }

    /// Forgets accounts whose buckets are full again.
    pub fn sweep(&self) {
        self.per_account.retain_recent();
        self.per_account.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_at_one_account_are_counted_however_its_email_is_typed() {
        let throttle = SigninThrottle::new(3);
        assert!(throttle.check("ann@example.com").is_ok());
        assert!(throttle.check(" Ann@Example.com").is_ok());
        assert!(throttle.check("ANN@EXAMPLE.COM ").is_ok());
        assert!(matches!(
            throttle.check("ann@example.com"),
            Err(AppError::RateLimited(_))
        ));
        assert!(throttle.check("bob@example.com").is_ok());
    }
}
