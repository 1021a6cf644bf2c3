//! What the push core reports. Each service declares its own series (in its
//! `observability/metrics.rs`, under its own prefix) and records them behind this trait, so the
//! core names no metric itself.

use std::time::Duration;

/// Something went wrong reading the event log or the presence bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogError {
    /// A stored message that is not a valid envelope of its subject's kind; skipped.
    Malformed,
    /// An event id delivered before came again under a new stream sequence (a producer re-published
    /// it after JetStream's de-duplication window); dropped.
    Duplicate,
    /// Subscribing failed, or the log reader lost its consumer and started it again.
    Subscription,
    /// Reading missed events from JetStream for a reconnecting client failed.
    Replay,
    /// The presence bucket could not be read or written.
    Presence,
}

impl LogError {
    pub const fn as_str(self) -> &'static str {
        match self {
            LogError::Malformed => "malformed",
            LogError::Duplicate => "duplicate",
            LogError::Subscription => "subscription",
            LogError::Replay => "replay",
            LogError::Presence => "presence",
        }
    }
}

/// How a reconnect with a cursor ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayOutcome {
    /// Everything missed was sent (possibly nothing).
    Recovered,
    /// The cursor belongs to another incarnation of the stream (or is a bare number).
    ResyncEpoch,
    /// What was missed is older than a replay may go back, or the stream no longer holds it.
    ResyncTooOld,
    /// More was missed than a replay may hold or scan.
    ResyncTooMany,
    /// JetStream could not be read for the part the ring does not hold.
    ResyncUnavailable,
}

impl ReplayOutcome {
    pub const fn as_str(self) -> &'static str {
        match self {
            ReplayOutcome::Recovered => "recovered",
            ReplayOutcome::ResyncEpoch => "resync_epoch",
            ReplayOutcome::ResyncTooOld => "resync_too_old",
            ReplayOutcome::ResyncTooMany => "resync_too_many",
            ReplayOutcome::ResyncUnavailable => "resync_unavailable",
        }
    }

    pub const ALL: [ReplayOutcome; 5] = [
        ReplayOutcome::Recovered,
        ReplayOutcome::ResyncEpoch,
        ReplayOutcome::ResyncTooOld,
        ReplayOutcome::ResyncTooMany,
        ReplayOutcome::ResyncUnavailable,
    ];
}

/// Why a new connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The instance holds its maximum of live connections.
    OverCapacity,
    /// The user holds their maximum of live connections on this instance.
    TooManyForUser,
    /// The token's session was revoked.
    SessionRevoked,
    /// The server is shutting down.
    ShuttingDown,
    /// The log reader has not found the stream yet: no cursor can be handed out, and events
    /// published meanwhile could not be accounted for.
    NotReady,
}

impl Refusal {
    pub const fn as_str(self) -> &'static str {
        match self {
            Refusal::OverCapacity => "over_capacity",
            Refusal::TooManyForUser => "too_many_connections",
            Refusal::SessionRevoked => "session_revoked",
            Refusal::ShuttingDown => "shutting_down",
            Refusal::NotReady => "not_ready",
        }
    }
}

/// The service's recorder. Every method is called from hot paths: record and return.
pub trait PushMetrics: Send + Sync + 'static {
    /// A stored event read from the log; `event` is its kind, or `unknown`.
    fn event_received(&self, event: &'static str);
    /// The time from reading a stored event to having offered it to every connection.
    fn event_processed(&self, event: &'static str, took: Duration);
    fn log_error(&self, error: LogError);
    /// Whether the log reader is subscribed (and connected).
    fn log_subscribed(&self, subscribed: bool);
    /// A frame handed to the hub for routing; `event` is its name.
    fn broadcast(&self, event: &'static str);
    /// A connection's buffer was full: it is cut off.
    fn buffer_full(&self);
    /// A reconnect with a cursor ended so; `replayed` stored events were sent.
    fn replay(&self, outcome: ReplayOutcome, replayed: usize);
    /// Users with at least one connection to this instance.
    fn users_online(&self, count: usize);
    fn refused(&self, refusal: Refusal);
}
