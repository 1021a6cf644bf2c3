//! The sessions revoked everywhere: the one list every service that accepts access tokens keeps,
//! and refuses a listed session's tokens. A service without live connections (analytics_server)
//! fills it with [`RevokedSessions::follow`]; the push core of notify_server and of
//! fechatter_server's WebSocket (`fechatter_push`) fills it from the event feed it reads anyway,
//! and also closes the session's open connections, so it needs no second follower.
//!
//! fechatter_server publishes `session.revoked` through its outbox on sign-out, refresh-token
//! reuse and account removal. [`RevokedSessions::follow`] reads those events with an ordered
//! JetStream consumer filtered to that one subject: at start-up from one token lifetime ago (older
//! revocations concern only tokens that have expired anyway), then as they come. The consumer is
//! push-based, delivering to this connection's own inbox, so a service's NATS user needs no right
//! to pull from consumers it does not own (see `nats/nats-server.conf`). An entry is
//! forgotten one token lifetime after its revocation, so the list stays as small as the number of
//! sign-outs in the last fifteen minutes.
//!
//! While NATS is unreachable the list cannot learn of new revocations; tokens are then accepted
//! as before (fail open), bounded by their short lifetime. fechatter_server does not depend on
//! this list: it checks sessions in Postgres.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_nats::jetstream::consumer::{DeliverPolicy, push::OrderedConfig};
use chrono::{DateTime, Utc};
use fechatter_events::nats::until_ok;
use fechatter_events::{Envelope, Event, EventBus, EventKind};
use futures::StreamExt;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{Claims, TokenError};

/// Expired entries are dropped this often (and whenever a revocation arrives).
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);
/// Beyond the token lifetime, for the clock skew verifiers tolerate.
const SKEW: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct RevokedSessions {
    inner: Arc<Inner>,
}

struct Inner {
    /// Session → when its last token has expired for sure.
    until: Mutex<HashMap<Uuid, DateTime<Utc>>>,
    remember_for: Duration,
    caught_up: AtomicBool,
}

impl std::fmt::Debug for RevokedSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevokedSessions")
            .field("remember_for", &self.inner.remember_for)
            .field("caught_up", &self.is_caught_up())
            .finish_non_exhaustive()
    }
}

impl RevokedSessions {
    /// A list for tokens that live `token_ttl`.
    pub fn new(token_ttl: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                until: Mutex::new(HashMap::new()),
                remember_for: token_ttl + SKEW,
                caught_up: AtomicBool::new(false),
            }),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, DateTime<Utc>>> {
        self.inner
            .until
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub fn is_revoked(&self, session: Uuid) -> bool {
        self.entries()
            .get(&session)
            .is_some_and(|until| *until > Utc::now())
    }

    /// `Err(TokenError::Revoked)` for a token of a revoked session.
    pub fn check(&self, claims: &Claims) -> Result<(), TokenError> {
        if self.is_revoked(claims.sid) {
            return Err(TokenError::Revoked);
        }
        Ok(())
    }

    /// Notes that `session` was revoked at `revoked_at`.
    pub fn record(&self, session: Uuid, revoked_at: DateTime<Utc>) {
        let remember_for =
            chrono::Duration::from_std(self.inner.remember_for).unwrap_or(chrono::Duration::MAX);
        let until = revoked_at + remember_for;
        let now = Utc::now();
        let mut entries = self.entries();
        entries.retain(|_, until| *until > now);
        if until > now {
            entries.insert(session, until);
        }
    }

    /// How many revoked sessions are remembered now.
    pub fn len(&self) -> usize {
        let now = Utc::now();
        self.entries()
            .values()
            .filter(|until| **until > now)
            .count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the revocations of the last token lifetime have all been read since start-up.
    pub fn is_caught_up(&self) -> bool {
        self.inner.caught_up.load(Ordering::SeqCst)
    }

    fn apply(&self, payload: &[u8]) {
        let envelope = match Envelope::from_json(payload) {
            Ok(envelope) if envelope.kind == EventKind::SessionRevoked => envelope,
            Ok(_) => return,
            Err(err) => {
                tracing::warn!(error = %err, "an unreadable session.revoked event was skipped");
                return;
            }
        };
        match envelope.event() {
            Ok(Event::SessionRevoked(revoked)) => {
                self.record(revoked.session_id, envelope.occurred_at)
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(event_id = %envelope.id, error = %err,
                "a session.revoked event without its session was skipped"),
        }
    }

    /// [`follow`](Self::follow) over a NATS connection of its own, named `client_name`: on a
    /// service's event-delivery connection the push consumer held up the event feed under load.
    pub async fn follow_on_own_connection(
        self,
        nats_url: &str,
        client_name: &str,
        auth: &fechatter_events::nats::NatsAuth,
        bus: EventBus,
        shutdown: CancellationToken,
    ) {
        match fechatter_events::nats::connect_as(nats_url, client_name, auth).await {
            Ok(nats) => {
                self.follow(async_nats::jetstream::new(nats), bus, shutdown)
                    .await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot connect to NATS to follow session revocations");
            }
        }
    }

    /// Reads `session.revoked` from `bus` until `shutdown`, resuming after the last event seen
    /// whenever the consumer breaks.
    pub async fn follow(
        self,
        jetstream: async_nats::jetstream::Context,
        bus: EventBus,
        shutdown: CancellationToken,
    ) {
        let subject = bus.subject(EventKind::SessionRevoked);
        let mut last_sequence: Option<u64> = None;
        let mut sweep = tokio::time::interval(SWEEP_INTERVAL);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let deliver_policy = match last_sequence {
                Some(sequence) => DeliverPolicy::ByStartSequence {
                    start_sequence: sequence + 1,
                },
                None => DeliverPolicy::ByStartTime {
                    start_time: time::OffsetDateTime::now_utc()
                        - time::Duration::seconds(self.inner.remember_for.as_secs() as i64),
                },
            };
            let subscribe = || async {
                let stream = jetstream.get_stream(&bus.stream).await?;
                let mut consumer = stream
                    .create_consumer(OrderedConfig {
                        deliver_subject: jetstream.client().new_inbox(),
                        filter_subject: subject.clone(),
                        deliver_policy,
                        description: Some("the sessions revoked everywhere".to_owned()),
                        ..Default::default()
                    })
                    .await?;
                let pending = consumer.info().await?.num_pending;
                let messages = consumer.messages().await?;
                Ok::<_, async_nats::Error>((pending, messages))
            };
            let Some((pending, mut messages)) =
                until_ok("following session revocations", &shutdown, subscribe).await
            else {
                return;
            };
            if pending == 0 {
                self.inner.caught_up.store(true, Ordering::SeqCst);
            }
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = sweep.tick() => self.record(Uuid::nil(), DateTime::<Utc>::MIN_UTC),
                    message = messages.next() => match message {
                        Some(Ok(message)) => {
                            self.apply(&message.payload);
                            if let Ok(info) = message.info() {
                                last_sequence = Some(info.stream_sequence);
                                if info.pending == 0 {
                                    self.inner.caught_up.store(true, Ordering::SeqCst);
                                }
                            }
                        }
                        Some(Err(err)) => {
                            tracing::warn!(error = %err, "the session revocation consumer broke; resuming");
                            break;
                        }
                        None => break,
                    },
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revocation_is_remembered_for_one_token_lifetime() {
        let revoked = RevokedSessions::new(Duration::from_secs(900));
        let (recent, old, other) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        revoked.record(recent, Utc::now() - chrono::Duration::minutes(10));
        revoked.record(old, Utc::now() - chrono::Duration::minutes(20));
        assert!(revoked.is_revoked(recent));
        assert!(!revoked.is_revoked(old), "its tokens have all expired");
        assert!(!revoked.is_revoked(other));
        assert_eq!(revoked.len(), 1);
        assert_eq!(
            revoked.entries().len(),
            1,
            "an expired revocation is not kept"
        );
    }
}
