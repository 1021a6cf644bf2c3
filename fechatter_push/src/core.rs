//! The push core of one process: the hub, the ring, the revoked sessions and the presence mirror,
//! fed by the one log reader, with what a transport needs to open a live connection.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use async_nats::jetstream;
use chrono::{DateTime, Utc};
use fechatter_auth::revocation::RevokedSessions;
use fechatter_events::{EventBus, EventKind, UserId, WorkspaceId};
use tokio::sync::{Semaphore, mpsc};
use uuid::Uuid;

use crate::cursor::{Cursor, Epoch};
use crate::frame::Frame;
use crate::hub::{Hub, HubLimits};
use crate::metrics::{LogError, PushMetrics, Refusal, ReplayOutcome};
use crate::observer::EventObserver;
use crate::presence::{Presence, PresenceSettings};
use crate::ring::{Accepted, Ring};
use crate::route::{Routed, route};

/// Event ids remembered to drop re-published events: well beyond what arrives within JetStream's
/// two-minute de-duplication window plus any producer retry.
const REMEMBERED_IDS: usize = 100_000;

/// How far a reconnecting client may be replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayLimits {
    /// A reconnect that missed more of its own events than this gets `resync` (`too_many`): the
    /// replay is held in memory before it is sent.
    pub max_events: usize,
    /// A reconnect further behind than this many stream events (anyone's) gets `resync`
    /// (`too_many`) without scanning them.
    pub max_scan: u64,
    /// A reconnect whose first missed event is older than this gets `resync` (`too_old`).
    pub max_age: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushSettings {
    pub hub: HubLimits,
    /// Recent events held in memory for replays; older ones are read from JetStream.
    pub ring_events: usize,
    pub replay: ReplayLimits,
    /// Replays reading JetStream at once; more wait for a turn (the ring needs none).
    pub replay_concurrency: usize,
    /// How long access tokens live: a revoked session stays refused that long.
    pub access_token_ttl: Duration,
    /// Cluster-wide presence, or `None` where the transport does not announce it.
    pub presence: Option<PresenceSettings>,
}

pub struct PushCore {
    pub(crate) bus: EventBus,
    pub(crate) nats: async_nats::Client,
    pub(crate) jetstream: jetstream::Context,
    pub(crate) settings: PushSettings,
    pub(crate) metrics: Arc<dyn PushMetrics>,
    pub(crate) hub: Hub,
    ring: Mutex<Ring>,
    /// The one list of revoked sessions every service keeps (`fechatter_auth`), fed here by the
    /// log reader.
    revoked: RevokedSessions,
    pub(crate) replays: Semaphore,
    subscribed: AtomicBool,
    pub(crate) presence: Option<Presence>,
    pub(crate) local_presence: Mutex<Option<mpsc::UnboundedReceiver<crate::hub::LocalPresence>>>,
    observer: OnceLock<Arc<dyn EventObserver>>,
}

/// A connection the core would not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("this server holds its maximum of {0} live connections")]
    OverCapacity(usize),
    #[error("this user holds the maximum of {0} live connections")]
    TooManyConnections(usize),
    #[error("the session was revoked")]
    SessionRevoked,
    #[error("the server is shutting down")]
    ShuttingDown,
    #[error("live events are not available yet; retry shortly")]
    NotReady,
}

impl PushCore {
    /// The core of a process on `nats`, reading `bus`. Nothing runs until [`PushCore::run`].
    pub fn new(
        nats: async_nats::Client,
        bus: EventBus,
        settings: PushSettings,
        metrics: Arc<dyn PushMetrics>,
    ) -> Arc<Self> {
        let (local_tx, local_rx) = match settings.presence {
            Some(_) => {
                let (tx, rx) = mpsc::unbounded_channel();
                (Some(tx), Some(rx))
            }
            None => (None, None),
        };
        let presence = settings
            .presence
            .clone()
            .map(|presence| Presence::new(&bus, presence));
        Arc::new(Self {
            jetstream: jetstream::new(nats.clone()),
            nats,
            hub: Hub::new(settings.hub, metrics.clone(), local_tx),
            ring: Mutex::new(Ring::new(settings.ring_events, REMEMBERED_IDS)),
            revoked: RevokedSessions::new(settings.access_token_ttl),
            replays: Semaphore::new(settings.replay_concurrency.max(1)),
            subscribed: AtomicBool::new(false),
            presence,
            local_presence: Mutex::new(local_rx),
            observer: OnceLock::new(),
            bus,
            settings,
            metrics,
        })
    }

    /// Shows `observer` every event read from now on, and every change of the subscription.
    /// There is one observer; a second call is ignored and returns false.
    pub fn observe(&self, observer: Arc<dyn EventObserver>) -> bool {
        let first = self.observer.set(observer).is_ok();
        if first && let Some(observer) = self.observer.get() {
            observer.feed(self.is_subscribed());
        }
        first
    }

    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    pub fn bus(&self) -> &EventBus {
        &self.bus
    }

    pub fn settings(&self) -> &PushSettings {
        &self.settings
    }

    pub(crate) fn ring(&self) -> MutexGuard<'_, Ring> {
        // Every method of the ring leaves it consistent, so a panic elsewhere leaves it usable.
        self.ring.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Where this instance's reader stands, once it has found the stream.
    pub fn position(&self) -> Option<Cursor> {
        self.ring().position()
    }

    /// Whether the log reader is subscribed and connected: without it nothing is pushed.
    pub fn is_subscribed(&self) -> bool {
        self.subscribed.load(Ordering::SeqCst)
    }

    pub(crate) fn set_subscribed(&self, subscribed: bool) {
        if self.subscribed.swap(subscribed, Ordering::SeqCst) != subscribed {
            self.metrics.log_subscribed(subscribed);
            if let Some(observer) = self.observer.get() {
                observer.feed(subscribed);
            }
        }
    }

    /// Ends every live connection of `session` on this instance; returns how many there were.
    pub fn close_session(&self, session: Uuid) -> usize {
        self.hub.close_session(session)
    }

    /// Ends `session`'s connections and refuses new ones until every access token it could hold
    /// when it was revoked (at `revoked_at`) has expired.
    pub fn revoke(&self, session: Uuid, revoked_at: DateTime<Utc>) -> usize {
        self.revoked.record(session, revoked_at);
        let closed = self.close_session(session);
        tracing::info!(%session, closed, "session revoked: its live connections end");
        closed
    }

    pub fn is_revoked(&self, session: Uuid) -> bool {
        self.revoked.is_revoked(session)
    }

    /// Refuses (and counts) a token of a revoked session.
    pub fn refuse_if_revoked(&self, session: Uuid) -> Result<(), Refused> {
        if self.is_revoked(session) {
            self.metrics.refused(Refusal::SessionRevoked);
            return Err(Refused::SessionRevoked);
        }
        Ok(())
    }

    /// Pushes a signal that is not stored (typing) to the connections of `recipients` here.
    pub fn signal(&self, recipients: &[UserId], frame: Frame) -> usize {
        self.hub.deliver(recipients, Arc::new(frame))
    }

    /// The users of `workspace` connected anywhere in the cluster (this instance's own included
    /// before the presence bucket has echoed them), in id order.
    pub fn online_users(&self, workspace: WorkspaceId) -> Vec<UserId> {
        let mut users = self.hub.local_users_in(workspace);
        if let Some(presence) = &self.presence {
            users.extend(presence.online_in(workspace));
            users.sort_unstable();
            users.dedup();
        }
        users
    }

    /// The reader found the stream at `epoch` whose last sequence is `last`: returns the sequence
    /// to read from. A stream created anew since the reader last read it makes every cursor
    /// handed out meaningless: each open connection gets one `resync` (`epoch`).
    pub(crate) fn locate(&self, epoch: Epoch, last: u64) -> u64 {
        let mut ring = self.ring();
        match ring.epoch() {
            Some(current) if current == epoch => ring.position().map_or(last, |p| p.seq) + 1,
            previous => {
                ring.reset(epoch, last);
                drop(ring);
                if previous.is_some() {
                    tracing::warn!(%epoch, "the event stream was created anew; every client resyncs");
                    let position = Cursor { epoch, seq: last };
                    self.hub
                        .deliver_to_all(Frame::resync(ReplayOutcome::ResyncEpoch, Some(position)));
                }
                last + 1
            }
        }
    }

    /// One stored event read by the log reader at stream sequence `seq`.
    pub(crate) fn accept(&self, seq: u64, subject: &str, payload: &[u8]) {
        let started = Instant::now();
        let kind = self.bus.kind_of_subject(subject);
        let event = kind.map_or("unknown", EventKind::as_str);
        self.metrics.event_received(event);
        let Some(epoch) = self.ring().epoch() else {
            return;
        };
        let cursor = Cursor { epoch, seq };
        match route(&self.bus, subject, payload, cursor) {
            Err(err) => {
                tracing::warn!(error = %err, seq, "a stored event that cannot be pushed; skipped");
                self.metrics.log_error(LogError::Malformed);
                self.ring().skip(seq);
                // What it changed cannot be known.
                if let Some(observer) = self.observer.get() {
                    observer.feed(self.is_subscribed());
                }
            }
            Ok(Routed { frame, envelope }) => {
                let frame = Arc::new(frame);
                let accepted = self
                    .ring()
                    .accept(seq, envelope.id, &envelope.recipients, &frame);
                match accepted {
                    Accepted::Fresh => {
                        if let Some(observer) = self.observer.get() {
                            observer.event(&envelope);
                        }
                        if envelope.kind == EventKind::SessionRevoked {
                            self.on_session_revoked(&envelope);
                        }
                        self.hub.deliver(&envelope.recipients, frame);
                    }
                    Accepted::Duplicate { first } => {
                        tracing::warn!(id = %envelope.id, seq, first, "an event published twice; pushed once");
                        self.metrics.log_error(LogError::Duplicate);
                    }
                    Accepted::Stale => {}
                }
            }
        }
        self.metrics.event_processed(event, started.elapsed());
    }

    pub(crate) fn on_session_revoked(&self, envelope: &fechatter_events::Envelope) {
        match envelope.event() {
            Ok(fechatter_events::Event::SessionRevoked(revoked)) => {
                self.revoke(revoked.session_id, envelope.occurred_at);
            }
            // Only called for `session.revoked`: another kind here is as malformed as a bad payload.
            Ok(other) => {
                tracing::warn!(kind = %other.kind(), id = %envelope.id, "not a session.revoked");
                self.metrics.log_error(LogError::Malformed);
            }
            Err(err) => {
                tracing::warn!(error = %err, id = %envelope.id, "a session.revoked event without a session");
                self.metrics.log_error(LogError::Malformed);
            }
        }
    }
}
