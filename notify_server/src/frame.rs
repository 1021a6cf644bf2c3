//! What the hub carries to a connection: one SSE event, shared by every recipient.

use std::sync::Arc;

use axum::response::sse::Event;
use chrono::{DateTime, Utc};
use fechatter_events::EventKind;

/// The SSE event names notify sends. Domain events use their kind; the others are produced by
/// notify itself and are never stored in JetStream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    Domain(EventKind),
    /// Someone else in one of the user's chats is typing.
    Typing,
    /// A user of the workspace came online or went offline.
    PresenceChanged,
    /// The server could not replay what the client missed; the client refetches over REST.
    Resync,
    /// The stream is caught up and live from here on.
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

/// One SSE event. `seq` is the JetStream stream sequence the client resumes from with
/// `Last-Event-ID`; signals that are not stored have none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub kind: FrameKind,
    pub seq: Option<u64>,
    /// When the change was committed (the envelope's `occurred_at`), for the delivery lag; only
    /// stored domain events have one.
    pub occurred_at: Option<DateTime<Utc>>,
    /// The JSON body, serialised once however many connections receive it.
    pub data: Arc<str>,
}

impl Frame {
    /// A stored domain event: its envelope as data, its stream sequence as id.
    pub fn event(
        kind: EventKind,
        seq: u64,
        occurred_at: DateTime<Utc>,
        envelope_json: impl Into<Arc<str>>,
    ) -> Self {
        Self {
            kind: FrameKind::Domain(kind),
            seq: Some(seq),
            occurred_at: Some(occurred_at),
            data: envelope_json.into(),
        }
    }

    /// A frame produced by notify itself.
    pub fn signal(kind: FrameKind, seq: Option<u64>, data: &serde_json::Value) -> Self {
        Self {
            kind,
            seq,
            occurred_at: None,
            data: data.to_string().into(),
        }
    }

    pub fn to_sse(&self) -> Event {
        let event = Event::default()
            .event(self.kind.as_str())
            .data(self.data.as_ref());
        match self.seq {
            Some(seq) => event.id(seq.to_string()),
            None => event,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_domain_frame_is_named_after_its_kind_and_carries_its_sequence() {
        let frame = Frame::event(EventKind::MessageCreated, 42, Utc::now(), r#"{"a":1}"#);
        assert_eq!(frame.kind.as_str(), "message.created");
        assert_eq!(frame.seq, Some(42));
    }

    #[test]
    fn notify_signals_use_their_own_names() {
        let names: Vec<_> = [
            FrameKind::Typing,
            FrameKind::PresenceChanged,
            FrameKind::Resync,
            FrameKind::Connected,
        ]
        .map(FrameKind::as_str)
        .to_vec();
        assert_eq!(names, ["typing", "presence.changed", "resync", "connected"]);
    }
}
