//! Typing signals: ephemeral (core NATS, never stored), addressed to the chat's other members,
//! at most one per user and chat per `FECHATTER_TYPING_THROTTLE_MS`; notify_server passes them on
//! as SSE `typing` events. `POST /api/chats/{id}/typing` is how a client on SSE sends them.

use std::num::NonZeroU32;
use std::time::Duration;

use fechatter_events::payload::Typing;
use fechatter_events::{ChatId, EphemeralKind, UserId};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tracing::instrument;

use crate::auth::CurrentUser;
use crate::deps::Deps;
use crate::error::AppError;
use crate::service::access;

/// One signal per user and chat per interval; a zero interval turns the throttle off.
pub struct TypingThrottle {
    limiter: Option<DefaultKeyedRateLimiter<(UserId, ChatId)>>,
}

impl std::fmt::Debug for TypingThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypingThrottle").finish_non_exhaustive()
    }
}

impl TypingThrottle {
    pub fn new(interval: Duration) -> Self {
        let limiter = Quota::with_period(interval)
            .map(|quota| RateLimiter::keyed(quota.allow_burst(NonZeroU32::MIN)));
        Self { limiter }
    }

    fn allows(&self, user: UserId, chat: ChatId) -> bool {
        self.limiter
            .as_ref()
            .is_none_or(|limiter| limiter.check_key(&(user, chat)).is_ok())
    }

    /// Forgets entries that have lapsed.
    pub fn sweep(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// Publishes that `caller` is typing in `chat_id`; false when the throttle dropped it.
#[instrument(skip_all, fields(user = %caller.id, chat = %chat_id))]
pub async fn signal(
    deps: &Deps,
    throttle: &TypingThrottle,
    nats: &async_nats::Client,
    caller: &CurrentUser,
    chat_id: ChatId,
) -> Result<bool, AppError> {
    let (chat, _) = access::membership(deps, caller, chat_id).await?;
    if !throttle.allows(caller.id, chat_id) {
        return Ok(false);
    }
    let signal = Typing {
        workspace_id: caller.workspace_id,
        chat_id,
        user_id: caller.id,
        recipients: chat
            .members
            .keys()
            .copied()
            .filter(|member| *member != caller.id)
            .collect(),
        occurred_at: chrono::Utc::now(),
    };
    let payload = serde_json::to_vec(&signal).map_err(AppError::internal)?;
    let subject = deps.event_bus().ephemeral_subject(EphemeralKind::Typing);
    nats.publish(subject, payload.into())
        .await
        .map_err(|err| AppError::DependencyUnavailable(format!("NATS: {err}")))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_throttle_lets_one_signal_per_user_and_chat_through_per_interval() {
        let throttle = TypingThrottle::new(Duration::from_secs(60));
        assert!(throttle.allows(UserId(1), ChatId(1)));
        assert!(!throttle.allows(UserId(1), ChatId(1)));
        assert!(throttle.allows(UserId(1), ChatId(2)));
        assert!(throttle.allows(UserId(2), ChatId(1)));
        let off = TypingThrottle::new(Duration::ZERO);
        assert!(off.allows(UserId(1), ChatId(1)) && off.allows(UserId(1), ChatId(1)));
    }
}
