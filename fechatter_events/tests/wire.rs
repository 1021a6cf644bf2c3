//! The typed events read the envelopes producers write today, byte for byte as they travel, and
//! write the same JSON back: the enum changed the code, not the wire (`docs/design/events.md`).

use fechatter_events::payload::RevocationReason;
use fechatter_events::{Availability, Decoded, Envelope, Event, EventKind};
use serde_json::{Value, json};

fn envelope(kind: &str, data: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": "0192f0a1-7b3c-7d4e-8f00-0123456789ab",
        "kind": kind,
        "version": 1,
        "occurred_at": "2026-11-25T06:00:00.123Z",
        "workspace_id": 1,
        "chat_id": 42,
        "actor_id": 7,
        "recipients": [7, 9],
        "data": data,
    }))
    .unwrap_or_default()
}

fn decoded(kind: &str, data: Value) -> Envelope {
    match Envelope::decode(&envelope(kind, data)) {
        Ok(Decoded::Known(envelope)) => envelope,
        other => panic!("{kind}: {other:?}"),
    }
}

/// Today's `data` of every kind, as fechatter_server writes it.
fn today() -> Vec<(&'static str, Value)> {
    let chat = json!({"id": 42, "workspace_id": 1, "chat_type": "group", "name": "ops",
        "description": null, "owner_id": 7, "member_ids": [7, 9],
        "created_at": "2026-11-25T06:00:00Z"});
    let message = json!({"id": 5, "chat_id": 42, "chat_type": "group", "sender_id": 7,
        "sender_is_bot": false, "content": "hi @bob", "reply_to": null, "mentions": [9],
        "silenced_mentions": [9], "files": [], "created_at": "2026-11-25T06:00:00Z",
        "edited_at": null});
    let member = json!({"chat_id": 42, "chat_type": "group", "user_id": 9, "role": "member"});
    let reaction = json!({"message_id": 5, "chat_id": 42, "user_id": 9, "emoji": "👍"});
    vec![
        (
            "user.signed_up",
            json!({"user_id": 7, "workspace_id": 1, "fullname": "Ann", "joined_by_invite": false}),
        ),
        (
            "user.status_changed",
            json!({"user_id": 7, "availability": "dnd", "text": "focus",
                "expires_at": "2026-11-25T08:00:00Z"}),
        ),
        ("chat.created", chat.clone()),
        ("chat.updated", chat),
        ("chat.deleted", json!({"id": 42, "chat_type": "group"})),
        ("chat.member_added", member.clone()),
        ("chat.member_removed", member),
        ("message.created", message.clone()),
        ("message.updated", message),
        ("message.deleted", json!({"id": 5, "chat_id": 42})),
        ("message.reaction_added", reaction.clone()),
        ("message.reaction_removed", reaction),
        (
            "message.pinned",
            json!({"message_id": 5, "chat_id": 42, "user_id": 7,
                "pinned_at": "2026-11-25T06:00:00Z"}),
        ),
        (
            "message.unpinned",
            json!({"message_id": 5, "chat_id": 42, "user_id": 7}),
        ),
        (
            "chat.read",
            json!({"chat_id": 42, "user_id": 7, "last_read_message_id": 5}),
        ),
        (
            "thread.updated",
            json!({"chat_id": 42, "root_id": 5, "reply_id": 9, "sender_id": 7,
                "deleted": false, "reply_count": 3, "last_reply_id": 9,
                "last_reply_at": "2026-11-25T06:00:00Z", "mentions": [8]}),
        ),
        (
            "thread.read",
            json!({"chat_id": 42, "root_id": 5, "user_id": 7, "last_read_reply_id": 9}),
        ),
        (
            "file.uploaded",
            json!({"file_id": 3, "uploader_id": 7, "size_bytes": 1024,
                "content_type": "image/png"}),
        ),
        (
            "session.revoked",
            json!({"session_id": "0192f0a1-7b3c-7d4e-8f00-0123456789ac", "user_id": 7,
                "reason": "refresh_token_reused"}),
        ),
    ]
}

#[test]
fn every_kind_of_todays_envelopes_decodes_to_its_typed_event_and_writes_the_same_data_back() {
    let samples = today();
    assert_eq!(samples.len(), EventKind::ALL.len(), "a sample per kind");
    for (kind, data) in samples {
        let envelope = decoded(kind, data.clone());
        let event = envelope
            .event()
            .unwrap_or_else(|err| panic!("{kind}: {err}"));
        assert_eq!(event.kind().as_str(), kind);
        assert_eq!(event.data().ok(), Some(data), "{kind} round trip");
    }
}

#[test]
fn the_session_pin_and_status_kinds_carry_their_fields() {
    let Ok(Event::SessionRevoked(revoked)) = decoded(
        "session.revoked",
        json!({"session_id": "0192f0a1-7b3c-7d4e-8f00-0123456789ac", "user_id": 7,
            "reason": "signed_out"}),
    )
    .event() else {
        panic!("not a session.revoked");
    };
    assert_eq!(revoked.reason, RevocationReason::SignedOut);
    assert_eq!(revoked.user_id.0, 7);

    let Ok(Event::MessageUnpinned(unpinned)) = decoded(
        "message.unpinned",
        json!({"message_id": 5, "chat_id": 42, "user_id": 7}),
    )
    .event() else {
        panic!("not a message.unpinned");
    };
    assert_eq!(unpinned.pinned_at, None);

    let Ok(Event::UserStatusChanged(status)) = decoded(
        "user.status_changed",
        json!({"user_id": 7, "availability": "away", "text": null, "expires_at": null}),
    )
    .event() else {
        panic!("not a user.status_changed");
    };
    assert_eq!(status.availability, Availability::Away);
}

#[test]
fn a_new_envelope_is_the_json_of_its_typed_event() {
    let data = json!({"message_id": 5, "chat_id": 42, "user_id": 7,
        "pinned_at": "2026-11-25T06:00:00Z"});
    let event =
        Event::from_parts(EventKind::MessagePinned, &data).unwrap_or_else(|err| panic!("{err}"));
    let written = Envelope::new(
        fechatter_events::WorkspaceId(1),
        Some(fechatter_events::ChatId(42)),
        Some(fechatter_events::UserId(7)),
        vec![fechatter_events::UserId(7)],
        &event,
    )
    .unwrap_or_else(|err| panic!("{err}"));
    let value: Value =
        serde_json::from_slice(&written.to_json().unwrap_or_default()).unwrap_or_default();
    assert_eq!(value["kind"], "message.pinned");
    assert_eq!(value["data"], data);
}

#[test]
fn a_kind_this_build_does_not_know_is_skippable_and_a_wrong_payload_is_an_error() {
    assert_eq!(
        Envelope::decode(&envelope("thread.created", json!({"anything": true}))).ok(),
        Some(Decoded::UnknownKind("thread.created".to_owned()))
    );
    // A known kind with a payload of the wrong shape is malformed, not unknown.
    let wrong = decoded("message.deleted", json!({"emoji": "👍"}));
    assert!(wrong.event().is_err());
    // Not an envelope at all: an error too.
    assert!(Envelope::decode(b"{\"kind\": 3}").is_err());
    assert!(Envelope::decode(b"not json").is_err());
}
