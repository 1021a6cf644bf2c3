//! What the hub carries to a connection, whatever its transport: one pushed event, shared by
//! every recipient. The services turn it into an SSE event or a WebSocket text frame.

use std::fmt;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use fechatter_events::EventKind;

use crate::cursor::Cursor;
use crate::metrics::ReplayOutcome;

/// The names of pushed events. Domain events use their kind; the others are produced by the push
/// core itself and are never stored in JetStream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    Domain(EventKind),
    /// Someone else in one of the user's chats is typing.
    Typing,
    /// A user of the workspace came online or went offline (anywhere in the cluster).
    PresenceChanged,
    /// The server cannot replay what the client missed; the client refetches over REST.
    Resync,
    /// The connection is caught up and live from here on.
    Connected,
}

impl FrameKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            FrameKind::Domain(kind) => kind.as_str(),
            FrameKind::Typing => "typing",
            FrameKind::PresenceChanged => "presence.changed",
            FrameKind::Resync => "resync",
            FrameKind::Connected => "connected",
        }
    }
}

/// One pushed event. `cursor` is what the client resumes from; signals that are not stored have
/// none, except `connected` and `resync`, which move the client's cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub kind: FrameKind,
    pub cursor: Option<Cursor>,
    /// The JSON body, serialised once however many connections receive it.
    pub data: Arc<str>,
    /// A stored event's `occurred_at`, where delivery lag is measured from.
    pub occurred_at: Option<DateTime<Utc>>,
    wire: Wire,
}

/// The frame as written to a connection, encoded by the first connection that sends it and shared
/// by the others. It takes no part in comparing frames.
#[derive(Clone, Default)]
struct Wire(OnceLock<Bytes>);

impl PartialEq for Wire {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Wire {}

impl fmt::Debug for Wire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.get().is_some() {
            "encoded"
        } else {
            "not encoded"
        })
    }
}

impl Frame {
    /// A stored domain event: its envelope (without recipients) as data, its place in the log.
    pub fn event(
        kind: EventKind,
        cursor: Cursor,
        occurred_at: DateTime<Utc>,
        envelope_json: impl Into<Arc<str>>,
    ) -> Self {
        Self {
            kind: FrameKind::Domain(kind),
            cursor: Some(cursor),
            data: envelope_json.into(),
            occurred_at: Some(occurred_at),
            wire: Wire::default(),
        }
    }

    /// A frame produced by the push core itself.
    pub fn signal(kind: FrameKind, cursor: Option<Cursor>, data: &serde_json::Value) -> Self {
        Self {
            kind,
            cursor,
            data: data.to_string().into(),
            occurred_at: None,
            wire: Wire::default(),
        }
    }

    /// One `resync`: refetch over REST. Its cursor moves the client past what cannot be replayed.
    pub fn resync(outcome: ReplayOutcome, position: Option<Cursor>) -> Self {
        let reason = match outcome {
            ReplayOutcome::ResyncEpoch => "epoch",
            ReplayOutcome::ResyncTooOld => "too_old",
            ReplayOutcome::ResyncTooMany => "too_many",
            ReplayOutcome::Recovered | ReplayOutcome::ResyncUnavailable => "unavailable",
        };
        Self::signal(
            FrameKind::Resync,
            position,
            &serde_json::json!({
                "reason": reason,
                "cursor": position.map(|cursor| cursor.to_string()),
            }),
        )
    }

    /// The name of the event: the kind string (`message.created`, `typing`…).
    pub fn name(&self) -> &'static str {
        self.kind.as_str()
    }

    /// The frame as the process's push transport writes it: encoded by `encode` for the first
    /// connection that sends it, the same bytes for every other (a message to a chat of 10 000
    /// members is encoded once, not 10 000 times). A process has one push transport (SSE in
    /// notify_server, WebSocket in fechatter_server), hence one `encode` for all its frames.
    pub fn encoded(&self, encode: impl FnOnce(&Frame) -> Bytes) -> Bytes {
        self.wire.0.get_or_init(|| encode(self)).clone()
    }

    /// The sequence of a stored event in its stream.
    pub fn seq(&self) -> Option<u64> {
        match self.kind {
            FrameKind::Domain(_) => self.cursor.map(|cursor| cursor.seq),
            _ => None,
        }
    }
}

/// A frame on its way to one connection.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub frame: Arc<Frame>,
    /// Sent in a catch-up (from the ring or JetStream) rather than live. Delivery lag is measured
    /// on live events only: a client that was away for an hour did not wait an hour for the
    /// server.
    pub replayed: bool,
}

impl Outgoing {
    /// How long after its `occurred_at` a live stored event reaches the client, if it is one.
    pub fn live_lag(&self, now: DateTime<Utc>) -> Option<std::time::Duration> {
        if self.replayed {
            return None;
        }
        let occurred_at = self.frame.occurred_at?;
        // A producer clock ahead of ours counts as no lag rather than a negative one.
        Some((now - occurred_at).to_std().unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cursor::Epoch;

    #[test]
    fn a_domain_frame_is_named_after_its_kind_and_carries_its_place() {
        let cursor = Cursor {
            epoch: Epoch(1),
            seq: 42,
        };
        let frame = Frame::event(EventKind::MessageCreated, cursor, Utc::now(), "{}");
        assert_eq!(frame.name(), "message.created");
        assert_eq!(frame.seq(), Some(42));
        let connected = Frame::signal(FrameKind::Connected, Some(cursor), &serde_json::json!({}));
        assert_eq!(connected.seq(), None, "a signal is not a stored event");
    }

    #[test]
    fn a_frame_is_encoded_once_however_many_connections_send_it() {
        let cursor = Cursor {
            epoch: Epoch(1),
            seq: 7,
        };
        let at = Utc::now();
        let frame = Frame::event(EventKind::MessageCreated, cursor, at, "{}");
        let mut encodings = 0;
        for _ in 0..3 {
            let bytes = frame.encoded(|frame| {
                encodings += 1;
                Bytes::copy_from_slice(frame.data.as_bytes())
            });
            assert_eq!(bytes, "{}");
        }
        assert_eq!(encodings, 1);
        assert_eq!(
            frame,
            Frame::event(EventKind::MessageCreated, cursor, at, "{}"),
            "the encoding takes no part in equality"
        );
    }

    #[test]
    fn lag_is_measured_on_live_stored_events_only() {
        let cursor = Cursor {
            epoch: Epoch(1),
            seq: 1,
        };
        let now = Utc::now();
        let frame = Arc::new(Frame::event(
            EventKind::MessageCreated,
            cursor,
            now - chrono::Duration::milliseconds(250),
            "{}",
        ));
        let live = Outgoing {
            frame: frame.clone(),
            replayed: false,
        };
        assert_eq!(
            live.live_lag(now),
            Some(std::time::Duration::from_millis(250))
        );
        let replayed = Outgoing {
            frame,
            replayed: true,
        };
        assert_eq!(replayed.live_lag(now), None);
        let typing = Outgoing {
            frame: Arc::new(Frame::signal(
                FrameKind::Typing,
                None,
                &serde_json::json!({}),
            )),
            replayed: false,
        };
        assert_eq!(typing.live_lag(now), None);
    }
}
