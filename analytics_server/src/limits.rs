//! Rate limits of `POST /api/event(s)`: per signed-in user and per client address (an IPv6
//! address counts as its /64), each a bucket refilled evenly over a minute. A refused request gets
//! 429 with `Retry-After` and is counted in `analytics_rate_limited_total{scope}`.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use fechatter_events::UserId;
use fechatter_http::client_address::{address_group, client_ip};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use http::request::Parts;
use tokio_util::sync::CancellationToken;

use crate::auth::{Authenticator, Caller};
use crate::config::RateLimits;
use crate::error::AppError;
use crate::observability::metrics::{LimitScope, ProtectionMetrics};

pub struct IngestLimits {
    per_user: DefaultKeyedRateLimiter<UserId>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
    trusted_proxy_hops: usize,
}

impl std::fmt::Debug for IngestLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngestLimits").finish_non_exhaustive()
    }
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
}

impl IngestLimits {
    pub fn new(settings: &RateLimits) -> Self {
        ProtectionMetrics::prime();
        Self {
            per_user: RateLimiter::keyed(per_minute(settings.per_user_per_minute)),
            per_address: RateLimiter::keyed(per_minute(settings.per_address_per_minute)),
            clock: DefaultClock::default(),
            trusted_proxy_hops: settings.trusted_proxy_hops,
        }
    }

    fn refused(&self, scope: LimitScope, wait: Duration) -> AppError {
        ProtectionMetrics::rate_limited(scope);
        AppError::RateLimited(wait)
    }

    /// Takes one request from the address's bucket and then the user's.
    pub fn check(&self, user: UserId, address: IpAddr) -> Result<(), AppError> {
        self.per_address
            .check_key(&address_group(address))
            .map_err(|not_until| {
                self.refused(
                    LimitScope::Address,
                    not_until.wait_time_from(self.clock.now()),
                )
            })?;
        self.per_user.check_key(&user).map_err(|not_until| {
            self.refused(LimitScope::User, not_until.wait_time_from(self.clock.now()))
        })
    }

    /// Forgets keys whose buckets are full again.
    pub fn sweep(&self) {
        self.per_user.retain_recent();
        self.per_user.shrink_to_fit();
        self.per_address.retain_recent();
        self.per_address.shrink_to_fit();
    }
}

/// Sweeps the limiters every minute until shutdown.
pub async fn sweep(limits: Arc<IngestLimits>, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => limits.sweep(),
        }
    }
}

/// The signed-in caller, when they and their address have requests left (401 first, then 429);
/// runs before the body is read.
pub struct LimitedCaller(pub Caller);

impl<S> FromRequestParts<S> for LimitedCaller
where
    S: Send + Sync,
    Authenticator: FromRef<S>,
    Arc<IngestLimits>: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let limits = Arc::<IngestLimits>::from_ref(state);
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        let address = client_ip(peer, &parts.headers, limits.trusted_proxy_hops);
        limits.check(caller.0.user_id(), address)?;
        Ok(LimitedCaller(caller))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_and_an_address_each_have_a_bucket() {
        let limits = IngestLimits::new(&RateLimits {
            per_user_per_minute: 2,
            per_address_per_minute: 3,
            trusted_proxy_hops: 0,
        });
        let here: IpAddr = [198, 51, 100, 1].into();
        let there: IpAddr = [198, 51, 100, 2].into();
        assert!(limits.check(UserId(1), here).is_ok());
        assert!(limits.check(UserId(1), here).is_ok());
        assert!(matches!(
            limits.check(UserId(1), there),
            Err(AppError::RateLimited(_))
        ));
        assert!(limits.check(UserId(2), here).is_ok());
        assert!(matches!(
            limits.check(UserId(3), here),
            Err(AppError::RateLimited(_))
        ));
    }
}
