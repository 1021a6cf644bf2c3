//! Turning a stored event into a frame and the list of users it goes to, the same way live and in a
//! replay.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use fechatter_events::{Envelope, EnvelopeError, EventBus, EventId, EventKind, UserId};
use serde::Deserialize;

use crate::cursor::Cursor;
use crate::frame::Frame;

/// A stored event ready for the hub.
#[derive(Debug)]
pub struct Routed {
    pub frame: Frame,
    pub envelope: Envelope,
}

#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    #[error("subject {0:?} names no known event kind")]
    UnknownSubject(String),
    #[error(transparent)]
    Malformed(#[from] EnvelopeError),
    #[error("the envelope's kind {envelope} does not match its subject's kind {subject}")]
    KindMismatch {
        subject: EventKind,
        envelope: EventKind,
    },
}

/// Validates the message at `cursor` and serialises, once for all its recipients' connections,
/// the frame's data: the envelope without `recipients`.
pub fn route(
    bus: &EventBus,
    subject: &str,
    payload: &[u8],
    cursor: Cursor,
) -> Result<Routed, RouteError> {
    let kind = bus
        .kind_of_subject(subject)
        .ok_or_else(|| RouteError::UnknownSubject(subject.to_owned()))?;
    let envelope = Envelope::from_json(payload)?;
    if envelope.kind != kind {
        return Err(RouteError::KindMismatch {
            subject: kind,
            envelope: envelope.kind,
        });
    }
    let json: Arc<str> = envelope.client_json()?.into();
    Ok(Routed {
        frame: Frame::event(kind, cursor, envelope.occurred_at, json),
        envelope,
    })
}

/// The routing fields of an envelope, read without building its `data`: a replay looks at many
/// events of other users and decodes in full only the caller's own.
#[derive(Debug, Deserialize)]
pub struct Routing {
    pub id: EventId,
    pub occurred_at: DateTime<Utc>,
    pub recipients: Vec<UserId>,
}

impl Routing {
    pub fn read(payload: &[u8]) -> Option<Routing> {
        serde_json::from_slice(payload).ok()
    }

    pub fn is_for(&self, user: UserId) -> bool {
        self.recipients.contains(&user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cursor::Epoch;
    use fechatter_events::payload::MessageDeleted;
    use fechatter_events::{ChatId, MessageId, WorkspaceId};

    const AT: Cursor = Cursor {
        epoch: Epoch(1),
        seq: 9,
    };

    fn envelope(kind: EventKind) -> Vec<u8> {
        Envelope::unchecked(
            kind,
            WorkspaceId(1),
            Some(ChatId(2)),
            Some(UserId(3)),
            vec![UserId(3), UserId(4)],
            &MessageDeleted {
                id: MessageId(5),
                chat_id: ChatId(2),
            },
        )
        .and_then(|envelope| envelope.to_json())
        .unwrap_or_default()
    }

    #[test]
    fn a_valid_event_routes_by_its_recipients_and_sends_everything_else() {
        let bus = EventBus::isolated("routing");
        let payload = envelope(EventKind::MessageDeleted);
        let routed = route(&bus, &bus.subject(EventKind::MessageDeleted), &payload, AT)
            .unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(routed.envelope.recipients, [UserId(3), UserId(4)]);
        assert_eq!(routed.frame.cursor, Some(AT));
        let mut published: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&payload).unwrap_or_default();
        assert!(published.remove("recipients").is_some());
        let sent: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&routed.frame.data).unwrap_or_default();
        assert_eq!(sent, published);
        let routing = Routing::read(&payload).unwrap_or_else(|| panic!("routing fields"));
        assert!(routing.is_for(UserId(4)) && !routing.is_for(UserId(5)));
        assert_eq!(routing.id, routed.envelope.id);
    }

    #[test]
    fn garbage_and_mismatched_kinds_are_refused() {
        let bus = EventBus::isolated("routing");
        let subject = bus.subject(EventKind::MessageCreated);
        assert!(matches!(
            route(&bus, &subject, b"{not json", AT),
            Err(RouteError::Malformed(_))
        ));
        assert!(matches!(
            route(&bus, &subject, &envelope(EventKind::MessageDeleted), AT),
            Err(RouteError::KindMismatch { .. })
        ));
        assert!(matches!(
            route(&bus, "elsewhere.events.message.created", b"{}", AT),
            Err(RouteError::UnknownSubject(_))
        ));
        assert!(Routing::read(b"{not json").is_none());
    }
}
