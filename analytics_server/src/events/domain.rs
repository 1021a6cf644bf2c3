//! A domain event envelope from fechatter_server as an analytics row.
//!
//! Only facts worth counting are kept: kinds, chat types, sizes, counts and ids. Message text,
//! names and e-mail addresses never reach ClickHouse.

use chrono::{DateTime, Utc};
use fechatter_events::{ChatType, Envelope, EnvelopeError, Event};
use serde_json::{Value, json};

use super::row::split_time;
use super::{EventRow, Source};

/// The chat type and the properties of an envelope's payload.
struct Facts {
    chat_type: Option<ChatType>,
    user_id: Option<i64>,
    properties: Value,
}

fn facts(envelope: &Envelope) -> Result<Facts, EnvelopeError> {
    let facts = |chat_type, properties| Facts {
        chat_type,
        user_id: None,
        properties,
    };
    Ok(match envelope.event()? {
        Event::UserSignedUp(p) => Facts {
            chat_type: None,
            user_id: Some(p.user_id.0),
            properties: json!({"joined_by_invite": p.joined_by_invite}),
        },
        Event::UserStatusChanged(p) => Facts {
            chat_type: None,
            user_id: Some(p.user_id.0),
            properties: json!({
                "availability": p.availability.as_str(),
                "text": p.text.is_some(),
                "expires": p.expires_at.is_some(),
            }),
        },
        Event::ChatCreated(p) | Event::ChatUpdated(p) => {
            facts(Some(p.chat_type), json!({"members": p.member_ids.len()}))
        }
        Event::ChatDeleted(p) => facts(Some(p.chat_type), json!({})),
        Event::ChatMemberAdded(p) | Event::ChatMemberRemoved(p) => facts(
            Some(p.chat_type),
            json!({"member_id": p.user_id.0, "role": p.role}),
        ),
        Event::MessageCreated(p) | Event::MessageUpdated(p) => facts(
            Some(p.chat_type),
            json!({
                "message_id": p.id.0,
                "length": p.content.chars().count(),
                "mentions": p.mentions.len(),
                "files": p.files.len(),
                "reply": p.reply_to.is_some(),
                "bot": p.sender_is_bot,
            }),
        ),
        Event::MessageDeleted(p) => facts(None, json!({"message_id": p.id.0})),
        Event::MessageReactionAdded(p) | Event::MessageReactionRemoved(p) => facts(
            None,
            json!({"message_id": p.message_id.0, "emoji": p.emoji}),
        ),
        Event::MessagePinned(p) | Event::MessageUnpinned(p) => {
            facts(None, json!({"message_id": p.message_id.0}))
        }
        Event::ChatRead(p) => facts(
            None,
            json!({"last_read_message_id": p.last_read_message_id.0}),
        ),
        Event::ThreadUpdated(p) => facts(
            None,
            json!({"root_id": p.root_id.0, "reply_id": p.reply_id.0, "deleted": p.deleted, "replies": p.reply_count}),
        ),
        Event::ThreadRead(p) => facts(None, json!({"root_id": p.root_id.0})),
        Event::FileUploaded(p) => facts(
            None,
            json!({"file_id": p.file_id.0, "size_bytes": p.size_bytes, "content_type": p.content_type}),
        ),
        Event::SessionRevoked(p) => Facts {
            chat_type: None,
            user_id: Some(p.user_id.0),
            properties: json!({"reason": p.reason}),
        },
    })
}

/// Whether `at` fits ClickHouse's `DateTime` (seconds since 1970 as a UInt32).
fn storable(at: DateTime<Utc>) -> bool {
    (0..=i64::from(u32::MAX)).contains(&at.timestamp())
}

/// The row for `envelope`. A payload that does not match its kind (a producer bug) still yields a
/// row from the envelope's own fields, so the fact is counted; the mismatch is logged.
pub fn to_row(envelope: &Envelope, received_at: DateTime<Utc>) -> EventRow {
    let facts = facts(envelope).unwrap_or_else(|err| {
        tracing::warn!(event_id = %envelope.id, kind = %envelope.kind, error = %err,
            "domain event payload does not match its kind; storing the envelope fields only");
        Facts {
            chat_type: None,
            user_id: None,
            properties: json!({}),
        }
    });
    // A time ClickHouse's DateTime cannot hold (a producer bug) would fail every insert of its
    // batch forever; the receipt time is the best stand-in.
    let occurred_at = if storable(envelope.occurred_at) {
        envelope.occurred_at
    } else {
        tracing::warn!(event_id = %envelope.id, occurred_at = %envelope.occurred_at,
            "domain event time out of range; using the receipt time");
        received_at
    };
    let (event_date, event_time, event_millis) = split_time(occurred_at);
    EventRow {
        event_id: envelope.id.0,
        event_date,
        event_time,
        event_millis,
        received_at,
        source: Source::Nats.as_str().to_owned(),
        event_type: envelope.kind.as_str().to_owned(),
        workspace_id: envelope.workspace_id.0,
        user_id: envelope
            .actor_id
            .map(|id| id.0)
            .or(facts.user_id)
            .unwrap_or(0),
        chat_id: envelope.chat_id.map(|id| id.0).unwrap_or(0),
        chat_type: facts
            .chat_type
            .map(|t| t.as_str().to_owned())
            .unwrap_or_default(),
        client_id: String::new(),
        session_id: String::new(),
        app_version: String::new(),
        os: String::new(),
        os_version: String::new(),
        arch: String::new(),
        locale: String::new(),
        device: String::new(),
        properties: facts.properties.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use fechatter_events::payload::{MessagePayload, UserSignedUp};
    use fechatter_events::{ChatId, EventKind, MessageId, UserId, WorkspaceId};

    use super::*;

    fn message(content: &str) -> Envelope {
        let payload = MessagePayload {
            id: MessageId(11),
            chat_id: ChatId(42),
            chat_type: ChatType::Group,
            sender_id: UserId(7),
            sender_is_bot: false,
            content: content.to_owned(),
            reply_to: None,
            mentions: vec![UserId(9)],
            silenced_mentions: Vec::new(),
            files: vec![],
            created_at: Utc::now(),
            edited_at: None,
        };
        Envelope::new(
            WorkspaceId(3),
            Some(ChatId(42)),
            Some(UserId(7)),
            vec![UserId(7), UserId(9)],
            &fechatter_events::Event::MessageCreated(payload.clone()),
        )
        .unwrap_or_else(|err| panic!("{err}"))
    }

    #[test]
    fn a_message_becomes_a_row_with_its_chat_type_but_not_its_text() {
        let envelope = message("the secret plan");
        let row = to_row(&envelope, Utc::now());
        assert_eq!(row.event_id, envelope.id.0);
        assert_eq!(
            (row.event_type.as_str(), row.chat_type.as_str()),
            ("message.created", "group")
        );
        assert_eq!((row.workspace_id, row.user_id, row.chat_id), (3, 7, 42));
        assert_eq!(row.source, "nats");
        assert!(!row.properties.contains("secret"), "{}", row.properties);
        assert!(
            row.properties.contains(r#""length":15"#),
            "{}",
            row.properties
        );
    }

    #[test]
    fn a_payload_that_does_not_match_its_kind_still_counts() {
        let mut envelope = message("hi");
        envelope.kind = EventKind::ChatCreated;
        let row = to_row(&envelope, Utc::now());
        assert_eq!(row.event_type, "chat.created");
        assert_eq!(
            (row.chat_type.as_str(), row.properties.as_str()),
            ("", "{}")
        );
    }

    #[test]
    fn a_time_clickhouse_cannot_store_is_replaced_by_the_receipt_time() {
        let mut envelope = message("hi");
        envelope.occurred_at = DateTime::from_timestamp(-5, 0).unwrap_or_default();
        let received = Utc::now();
        let row = to_row(&envelope, received);
        assert_eq!(row.event_date, received.date_naive());
    }

    #[test]
    fn a_signup_is_counted_for_the_new_user() {
        let payload = UserSignedUp {
            user_id: UserId(5),
            workspace_id: WorkspaceId(2),
            fullname: "Ada Lovelace".into(),
            joined_by_invite: true,
        };
        let envelope = Envelope::new(
            WorkspaceId(2),
            None,
            None,
            vec![],
            &fechatter_events::Event::UserSignedUp(payload.clone()),
        )
        .unwrap_or_else(|err| panic!("{err}"));
        let row = to_row(&envelope, Utc::now());
        assert_eq!((row.user_id, row.workspace_id), (5, 2));
        assert!(!row.properties.contains("Ada"));
    }
}
