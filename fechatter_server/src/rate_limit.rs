//! Rate limits (`docs/design/api.md`): per client IP on the sign-in routes, per user on sending, uploading,
//! searching and on every write that fans out to a chat's members (reactions, edits, deletes, chat
//! creation, member changes) or mints access (invites), per incoming webhook on its posts. Each
//! limit is a GCRA bucket per key (governor); a refused request gets 429 with `Retry-After` and is
//! counted in `fechatter_rate_limited_total{route}`.
//!
//! Which route takes from which bucket is declared with the route itself (`crate::routes`), which
//! runs [`admit`] before the handler; some buckets guard several routes (an edit of a message or of
//! a chat), and each route is counted under its own template.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::response::{IntoResponse, Response};
use fechatter_events::UserId;
use fechatter_http::client_address::{address_group, client_ip};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use http::HeaderMap;
use http::Request;
use http::request::Parts;
use tokio_util::sync::CancellationToken;

use crate::auth::CurrentUser;
use crate::config::RateLimits;
use crate::deps::Deps;
use crate::error::AppError;
use crate::observability::metrics::ProtectionMetrics;

/// Everything that is rate limited: a bucket per key (client IP, user or webhook) for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    Signup,
    Signin,
    Refresh,
    Send,
    /// Sending as a workspace bot, instead of [`Limit::Send`].
    BotSend,
    Upload,
    Search,
    /// Adding or removing a reaction.
    React,
    /// Editing a message, renaming or describing a chat, pinning or unpinning a message, setting
    /// one's status, creating or revoking a chat's webhooks.
    Edit,
    /// Deleting a message or a chat.
    Delete,
    CreateChat,
    /// Adding (or joining) and removing (or leaving) chat members.
    Members,
    Invite,
    /// Posting through an incoming webhook: keyed by the webhook, which the service knows once it
    /// has looked the token up ([`RateLimiters::check_webhook`]).
    Webhook,
}

impl Limit {
    const PER_IP: [Limit; 3] = [Limit::Signup, Limit::Signin, Limit::Refresh];
    const PER_USER: [Limit; 10] = [
        Limit::Send,
        Limit::BotSend,
        Limit::Upload,
        Limit::Search,
        Limit::React,
        Limit::Edit,
        Limit::Delete,
        Limit::CreateChat,
        Limit::Members,
        Limit::Invite,
    ];

    fn per_minute(self, limits: &RateLimits) -> u32 {
        match self {
            Limit::Signup | Limit::Signin | Limit::Refresh => limits.auth_per_minute,
            Limit::Send => limits.send_per_minute,
            Limit::BotSend => limits.bot_send_per_minute,
            Limit::Upload => limits.upload_per_minute,
            Limit::Search => limits.search_per_minute,
            Limit::React => limits.react_per_minute,
            Limit::Edit => limits.edit_per_minute,
            Limit::Delete => limits.delete_per_minute,
            Limit::CreateChat => limits.create_chat_per_minute,
            Limit::Members => limits.members_per_minute,
            Limit::Invite => limits.invite_per_minute,
            Limit::Webhook => limits.webhook_per_minute,
        }
    }
}

type Keyed<K> = DefaultKeyedRateLimiter<K>;

/// The route incoming webhooks post to (`FECHATTER_RATE_LIMIT_WEBHOOK_PER_MINUTE` per webhook).
pub const HOOK_ROUTE: &str = "/api/hooks/{token}";

/// One bucket set per limit; built once by the composition root, shared by HTTP and WebSocket.
pub struct RateLimiters {
    per_ip: Vec<(Limit, Keyed<IpAddr>)>,
    per_user: Vec<(Limit, Keyed<UserId>)>,
    /// Messages posted per incoming webhook (by its id).
    per_webhook: Keyed<i64>,
    clock: DefaultClock,
    trusted_proxy_hops: usize,
}

impl std::fmt::Debug for RateLimiters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiters").finish_non_exhaustive()
    }
}

fn quota(per_minute: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN))
}

impl RateLimiters {
    pub fn new(settings: &RateLimits) -> Self {
        let per_ip = Limit::PER_IP
            .iter()
            .map(|limit| {
                (
                    *limit,
                    RateLimiter::keyed(quota(limit.per_minute(settings))),
                )
            })
            .collect();
        let per_user = Limit::PER_USER
            .iter()
            .map(|limit| {
                (
                    *limit,
                    RateLimiter::keyed(quota(limit.per_minute(settings))),
                )
            })
            .collect();
        Self {
            per_ip,
            per_user,
            per_webhook: RateLimiter::keyed(quota(Limit::Webhook.per_minute(settings))),
            clock: DefaultClock::default(),
            trusted_proxy_hops: settings.trusted_proxy_hops,
        }
    }

    fn refused(&self, wait: Duration, route: &'static str) -> AppError {
        ProtectionMetrics::rate_limited(route);
        AppError::RateLimited(wait)
    }

    /// Takes one request from `ip`'s bucket for `limit` (an IPv6 address shares its /64's),
    /// counted under `route`.
    pub fn check_ip(&self, limit: Limit, ip: IpAddr, route: &'static str) -> Result<(), AppError> {
        let Some((_, limiter)) = self.per_ip.iter().find(|(l, _)| *l == limit) else {
            return Ok(());
        };
        limiter
            .check_key(&address_group(ip))
            .map_err(|not_until| self.refused(not_until.wait_time_from(self.clock.now()), route))
    }

    /// Takes one request from `user`'s bucket for `limit`, counted under `route` (the WebSocket
    /// shares the send bucket with HTTP but has a route of its own).
    pub fn check_user(
        &self,
        limit: Limit,
        user: UserId,
        route: &'static str,
    ) -> Result<(), AppError> {
        let Some((_, limiter)) = self.per_user.iter().find(|(l, _)| *l == limit) else {
            return Ok(());
        };
        limiter
            .check_key(&user)
            .map_err(|not_until| self.refused(not_until.wait_time_from(self.clock.now()), route))
    }

    /// Takes one message from incoming webhook `id`'s bucket.
    pub fn check_webhook(&self, id: i64) -> Result<(), AppError> {
        self.per_webhook.check_key(&id).map_err(|not_until| {
            self.refused(not_until.wait_time_from(self.clock.now()), HOOK_ROUTE)
        })
    }

    /// Forgets keys whose buckets are full again, so memory follows the active clients only.
    pub fn sweep(&self) {
        for (_, limiter) in &self.per_ip {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        for (_, limiter) in &self.per_user {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        self.per_webhook.retain_recent();
        self.per_webhook.shrink_to_fit();
    }

    /// The client address: the peer, or with `hops` trusted proxies in front, the address the
    /// outermost trusted proxy saw (the `hops`-th entry of `X-Forwarded-For` from the right).
    pub fn client_ip(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> IpAddr {
        client_ip(peer, headers, self.trusted_proxy_hops)
    }
}

/// What holds in-memory per-key throttles whose lapsed entries are forgotten when swept (the
/// composition root names them all).
pub trait Sweep {
    fn sweep(&self);
}

/// Sweeps the limiters every minute until shutdown.
pub async fn sweep<S: Sweep>(state: S, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {
                state.sweep();
            }
        }
    }
}

/// Whether `limit` is keyed by the client address (else by the caller or the webhook).
fn per_ip(limit: Limit) -> bool {
    Limit::PER_IP.contains(&limit)
}

/// Takes one request of `request` from its bucket for `limit`, counted under `route`: the client
/// address's, or the authenticated caller's (401 before 429; the caller is left in the request's
/// extensions for the handler). Incoming webhooks are checked by the service, which knows the
/// webhook.
async fn take<S>(
    state: &S,
    limit: Limit,
    route: &'static str,
    parts: &mut Parts,
) -> Result<(), AppError>
where
    S: Send + Sync,
    Deps: FromRef<S>,
    Arc<RateLimiters>: FromRef<S>,
{
    if limit == Limit::Webhook {
        return Ok(());
    }
    let limiters = Arc::<RateLimiters>::from_ref(state);
    if per_ip(limit) {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        let ip = limiters.client_ip(peer, &parts.headers);
        return limiters.check_ip(limit, ip, route);
    }
    let user = CurrentUser::from_request_parts(parts, state).await?;
    let deps = Deps::from_ref(state);
    let limit = match limit {
        // The bot's answers must not run into the limit meant for people (cached look-up).
        Limit::Send
            if deps
                .caches()
                .user(deps.pool(), user.id)
                .await?
                .is_some_and(|found| found.is_bot) =>
        {
            Limit::BotSend
        }
        limit => limit,
    };
    limiters.check_user(limit, user.id, route)?;
    parts.extensions.insert(user);
    Ok(())
}

/// Runs `request` through `limit` before its handler: the refusal (401 or 429) answers instead.
pub async fn admit<S, B>(
    state: &S,
    limit: Limit,
    route: &'static str,
    request: Request<B>,
) -> Result<Request<B>, Response>
where
    S: Send + Sync,
    Deps: FromRef<S>,
    Arc<RateLimiters>: FromRef<S>,
{
    let (mut parts, body) = request.into_parts();
    match take(state, limit, route, &mut parts).await {
        Ok(()) => Ok(Request::from_parts(parts, body)),
        Err(refused) => Err(refused.into_response()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::net::Ipv4Addr;

    const PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    const SIGNIN: &str = "/api/signin";

    #[test]
    fn addresses_of_one_ipv6_64_share_a_bucket_and_other_networks_do_not() {
        let limiters = RateLimiters::new(&RateLimits {
            auth_per_minute: 2,
            send_per_minute: 2,
            bot_send_per_minute: 2,
            upload_per_minute: 2,
            search_per_minute: 2,
            react_per_minute: 2,
            edit_per_minute: 2,
            delete_per_minute: 2,
            create_chat_per_minute: 2,
            members_per_minute: 2,
            invite_per_minute: 2,
            webhook_per_minute: 60,
            trusted_proxy_hops: 0,
        });
        let ip = |text: &str| text.parse::<IpAddr>().unwrap_or(PEER);
        assert!(
            limiters
                .check_ip(Limit::Signin, ip("2001:db8:1:2::1"), SIGNIN)
                .is_ok()
        );
        assert!(
            limiters
                .check_ip(Limit::Signin, ip("2001:db8:1:2:ffff::7"), SIGNIN)
                .is_ok()
        );
        assert!(
            limiters
                .check_ip(
                    Limit::Signin,
                    ip("2001:db8:1:2:abcd:1234:5678:9abc"),
                    SIGNIN
                )
                .is_err(),
            "a third address of the same /64"
        );
        assert!(
            limiters
                .check_ip(Limit::Signin, ip("2001:db8:1:3::1"), SIGNIN)
                .is_ok()
        );
    }

    #[test]
    fn the_request_after_the_burst_waits_for_the_refill() {
        let limiters = RateLimiters::new(&RateLimits {
            auth_per_minute: 2,
            send_per_minute: 2,
            bot_send_per_minute: 2,
            upload_per_minute: 2,
            search_per_minute: 2,
            react_per_minute: 2,
            edit_per_minute: 2,
            delete_per_minute: 2,
            create_chat_per_minute: 2,
            members_per_minute: 2,
            invite_per_minute: 2,
            webhook_per_minute: 60,
            trusted_proxy_hops: 0,
        });
        assert!(limiters.check_ip(Limit::Signin, PEER, SIGNIN).is_ok());
        assert!(limiters.check_ip(Limit::Signin, PEER, SIGNIN).is_ok());
        match limiters.check_ip(Limit::Signin, PEER, SIGNIN) {
            Err(AppError::RateLimited(wait)) => {
                assert!(wait > Duration::from_secs(25) && wait <= Duration::from_secs(30));
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        // Other IPs, other limits and other users have buckets of their own.
        assert!(
            limiters
                .check_ip(Limit::Signup, PEER, "/api/signup")
                .is_ok()
        );
        assert!(
            limiters
                .check_ip(Limit::Signin, IpAddr::V4(Ipv4Addr::LOCALHOST), SIGNIN)
                .is_ok()
        );
        assert!(
            limiters
                .check_user(Limit::Send, UserId(1), "/api/chats/{id}/messages")
                .is_ok()
        );
    }
}
