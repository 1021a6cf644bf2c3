//! The JSON envelope every durable event travels in.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{ChatId, Event, EventId, EventKind, UserId, WorkspaceId};

/// The current envelope schema version; consumers reject versions they do not know.
pub const ENVELOPE_VERSION: u16 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    pub id: EventId,
    pub kind: EventKind,
    pub version: u16,
    pub occurred_at: DateTime<Utc>,
    pub workspace_id: WorkspaceId,
    #[serde(default)]
    pub chat_id: Option<ChatId>,
    #[serde(default)]
    pub actor_id: Option<UserId>,
    /// Who may see this event, captured in the transaction that made the change, so consumers route
    /// without querying Postgres.
    pub recipients: Vec<UserId>,
    /// The payload of `kind` as it travelled, so a field a newer producer added is passed on to
    /// clients untouched; read it typed with [`Envelope::event`].
    pub data: serde_json::Value,
}

/// A message of the event stream as a consumer reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    Known(Envelope),
    /// A kind this build does not know (a newer producer): a consumer skips it, never fails on it.
    UnknownKind(String),
}

#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("malformed event envelope: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("unsupported envelope version {0}")]
    UnsupportedVersion(u16),
}

impl Envelope {
    /// A new envelope for `event` with a fresh UUID v7 id, stamped now: its kind and data come
    /// from the one typed value, so they always agree.
    pub fn new(
        workspace_id: WorkspaceId,
        chat_id: Option<ChatId>,
        actor_id: Option<UserId>,
        recipients: Vec<UserId>,
        event: &Event,
    ) -> Result<Self, serde_json::Error> {
        Self::unchecked(
            event.kind(),
            workspace_id,
            chat_id,
            actor_id,
            recipients,
            &event.data()?,
        )
    }

    /// An envelope whose `data` need not fit its kind: only for tests and tools that must
    /// produce what a broken or foreign producer would (a malformed payload to dead-letter).
    pub fn unchecked(
        kind: EventKind,
        workspace_id: WorkspaceId,
        chat_id: Option<ChatId>,
        actor_id: Option<UserId>,
        recipients: Vec<UserId>,
        data: &impl Serialize,
    ) -> Result<Self, serde_json::Error> {
        Ok(Self {
            id: EventId::generate(),
            kind,
            version: ENVELOPE_VERSION,
            occurred_at: Utc::now(),
            workspace_id,
            chat_id,
            actor_id,
            recipients,
            data: serde_json::to_value(data)?,
        })
    }

    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }

    /// The JSON pushed to clients (SSE, WebSocket): the envelope without `recipients`.
    pub fn client_json(&self) -> Result<String, EnvelopeError> {
        Ok(serde_json::to_string(&ClientEnvelope::from(self))?)
    }

    pub fn from_json(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        let envelope: Envelope = serde_json::from_slice(bytes)?;
        if envelope.version != ENVELOPE_VERSION {
            return Err(EnvelopeError::UnsupportedVersion(envelope.version));
        }
        Ok(envelope)
    }

    /// Like [`Envelope::from_json`], but a kind this build does not know is
    /// [`Decoded::UnknownKind`] rather than an error, so a consumer skips what a newer producer
    /// sends instead of dead-lettering it.
    pub fn decode(bytes: &[u8]) -> Result<Decoded, EnvelopeError> {
        #[derive(Deserialize)]
        struct Kind {
            kind: String,
        }
        match Self::from_json(bytes) {
            Ok(envelope) => Ok(Decoded::Known(envelope)),
            Err(err) => match serde_json::from_slice::<Kind>(bytes) {
                Ok(Kind { kind }) if kind.parse::<EventKind>().is_err() => {
                    Ok(Decoded::UnknownKind(kind))
                }
                _ => Err(err),
            },
        }
    }

    /// The typed event: `data` decoded as the payload of `kind`.
    pub fn event(&self) -> Result<Event, EnvelopeError> {
        Ok(Event::from_parts(self.kind, &self.data)?)
    }

    /// Decodes `data` into a payload type (tests and tools; services match on [`Envelope::event`]).
    pub fn payload<T: DeserializeOwned>(&self) -> Result<T, EnvelopeError> {
        Ok(T::deserialize(&self.data)?)
    }

    pub fn is_for(&self, user: UserId) -> bool {
        self.recipients.contains(&user)
    }
}

/// What a client receives of an envelope: every field but `recipients`. Those are routing metadata
/// for the consumers; a client needs none of them, a member of a large channel should not learn
/// every member id from each message, and for a 10 000-member chat they are ~50 KB that would be
/// written to each of the 10 000 connections.
#[derive(Serialize)]
struct ClientEnvelope<'a> {
    id: &'a EventId,
    kind: EventKind,
    version: u16,
    occurred_at: &'a DateTime<Utc>,
    workspace_id: WorkspaceId,
    chat_id: Option<ChatId>,
    actor_id: Option<UserId>,
    data: &'a serde_json::Value,
}

impl<'a> From<&'a Envelope> for ClientEnvelope<'a> {
    fn from(envelope: &'a Envelope) -> Self {
        Self {
            id: &envelope.id,
            kind: envelope.kind,
            version: envelope.version,
            occurred_at: &envelope.occurred_at,
            workspace_id: envelope.workspace_id,
            chat_id: envelope.chat_id,
            actor_id: envelope.actor_id,
            data: &envelope.data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MessageId;
    use crate::payload::MessageDeleted;

    fn sample() -> Envelope {
        Envelope::new(
            WorkspaceId(1),
            Some(ChatId(42)),
            Some(UserId(7)),
            vec![UserId(7), UserId(9)],
            &Event::MessageDeleted(MessageDeleted {
                id: MessageId(5),
                chat_id: ChatId(42),
            }),
        )
        .unwrap_or_else(|err| panic!("{err}"))
    }

    #[test]
    fn a_client_gets_every_field_but_the_recipients() {
        let envelope = sample();
        let pushed: serde_json::Value =
            serde_json::from_str(&envelope.client_json().unwrap_or_default()).unwrap_or_default();
        let mut stored: serde_json::Value =
            serde_json::from_slice(&envelope.to_json().unwrap_or_default()).unwrap_or_default();
        assert!(
            stored
                .as_object_mut()
                .and_then(|o| o.remove("recipients"))
                .is_some()
        );
        assert_eq!(pushed, stored);
    }

    #[test]
    fn an_envelope_round_trips_through_json() {
        let envelope = sample();
        let bytes = envelope.to_json().unwrap_or_default();
        let decoded = Envelope::from_json(&bytes).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(decoded, envelope);
        let Ok(Event::MessageDeleted(payload)) = decoded.event() else {
            panic!("{:?}", decoded.event());
        };
        assert_eq!(payload.id, MessageId(5));
    }

    #[test]
    fn the_wire_format_matches_the_contract() {
        let value = serde_json::to_value(sample()).unwrap_or_default();
        assert_eq!(value["kind"], "message.deleted");
        assert_eq!(value["version"], 1);
        assert_eq!(value["recipients"], serde_json::json!([7, 9]));
        assert!(value["id"].as_str().is_some_and(|id| id.len() == 36));
    }

    #[test]
    fn an_unknown_version_is_rejected() {
        let mut value = serde_json::to_value(sample()).unwrap_or_default();
        value["version"] = 99.into();
        let bytes = serde_json::to_vec(&value).unwrap_or_default();
        assert!(matches!(
            Envelope::from_json(&bytes),
            Err(EnvelopeError::UnsupportedVersion(99))
        ));
    }

    #[test]
    fn recipients_decide_who_sees_an_event() {
        let envelope = sample();
        assert!(envelope.is_for(UserId(9)));
        assert!(!envelope.is_for(UserId(8)));
    }
}
