//! Turning a stored event into a frame and the list of users it goes to, the same way for live
//! delivery and for replay.

use fechatter_events::{Envelope, EnvelopeError, EventBus, EventKind};

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

/// Validates the message at stream sequence `seq` and serialises, once for all its recipients'
/// connections, the frame's data: the envelope without `recipients`.
pub fn route(
    bus: &EventBus,
    subject: &str,
    payload: &[u8],
    seq: u64,
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
    let json = envelope.client_json()?;
    Ok(Routed {
        frame: Frame::event(kind, seq, envelope.occurred_at, json),
        envelope,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use fechatter_events::payload::MessageDeleted;
    use fechatter_events::{ChatId, MessageId, UserId, WorkspaceId};

    fn envelope(kind: EventKind) -> Vec<u8> {
        Envelope::new(
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
        let routed = route(&bus, &bus.subject(EventKind::MessageDeleted), &payload, 9)
            .unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(routed.envelope.recipients, [UserId(3), UserId(4)]);
        assert_eq!(routed.frame.seq, Some(9));
        let mut published: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&payload).unwrap_or_default();
        assert!(published.remove("recipients").is_some());
        let sent: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&routed.frame.data).unwrap_or_default();
        assert_eq!(sent, published);
    }

    #[test]
    fn garbage_and_mismatched_kinds_are_refused() {
        let bus = EventBus::isolated("routing");
        let subject = bus.subject(EventKind::MessageCreated);
        assert!(matches!(
            route(&bus, &subject, b"{not json", 1),
            Err(RouteError::Malformed(_))
        ));
        assert!(matches!(
            route(&bus, &subject, &envelope(EventKind::MessageDeleted), 1),
            Err(RouteError::KindMismatch { .. })
        ));
        assert!(matches!(
            route(&bus, "elsewhere.events.message.created", b"{}", 1),
            Err(RouteError::UnknownSubject(_))
        ));
    }
}
