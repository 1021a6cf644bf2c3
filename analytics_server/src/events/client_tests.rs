use serde_json::json;

use super::*;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-05-01T12:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

fn context() -> Context {
    Context {
        user_id: 7,
        workspace_id: 3,
        received_at: now(),
    }
}

fn limits() -> Limits {
    Limits {
        max_future: Duration::from_secs(300),
        max_age: Duration::from_secs(7 * 86_400),
        max_properties_bytes: 64,
    }
}

fn event() -> Value {
    json!({
        "event_id": "0196a0b0-0000-7000-8000-000000000001",
        "event_type": "search_performed",
        "client_id": "client-1",
        "session_id": "session-1",
        "occurred_at": "2026-05-01T11:59:58.250Z",
        "app_version": "1.4.2",
        "system": {"os": "macos", "os_version": "15.1", "arch": "arm64", "locale": "en-GB"},
        "properties": {"results": 0}
    })
}

fn rejection(value: Value) -> (RejectReason, Option<String>) {
    match validate(&value, context(), &limits()) {
        Ok(event) => panic!("accepted {event:?}"),
        Err(rejection) => (rejection.reason, rejection.field),
    }
}

fn with(field: &str, value: Value) -> Value {
    let mut event = event();
    event[field] = value;
    event
}

#[test]
fn a_valid_event_becomes_a_row_owned_by_the_caller() {
    let event = validate(&event(), context(), &limits()).unwrap_or_else(|err| panic!("{err:?}"));
    assert_eq!(event.event_type, ClientEventType::SearchPerformed);
    let row = event.row;
    assert_eq!(
        row.event_id.to_string(),
        "0196a0b0-0000-7000-8000-000000000001"
    );
    assert_eq!((row.user_id, row.workspace_id), (7, 3));
    assert_eq!(row.event_time.to_rfc3339(), "2026-05-01T11:59:58+00:00");
    assert_eq!(row.event_millis, 250);
    assert_eq!(
        [
            &row.os,
            &row.os_version,
            &row.arch,
            &row.locale,
            &row.device
        ],
        ["macos", "15.1", "arm64", "en-GB", ""]
    );
    assert_eq!(row.properties, r#"{"results":0}"#);
    assert_eq!(row.source, "http");
}

#[test]
fn an_event_without_an_id_gets_a_fresh_one() {
    let mut value = event();
    value.as_object_mut().map(|map| map.remove("event_id"));
    let first = validate(&value, context(), &limits()).map(|e| e.row.event_id);
    let second = validate(&value, context(), &limits()).map(|e| e.row.event_id);
    assert!(first.is_ok() && first != second);
}

#[test]
fn user_and_workspace_are_never_taken_from_the_body() {
    assert_eq!(
        rejection(with("user_id", json!(1))),
        (RejectReason::UnknownField, Some("user_id".into()))
    );
    assert_eq!(
        rejection(with("workspace_id", json!(1))).0,
        RejectReason::UnknownField
    );
}

#[test]
fn an_unknown_event_type_is_rejected() {
    assert_eq!(
        rejection(with("event_type", json!("app_exploded"))),
        (RejectReason::UnknownEventType, Some("event_type".into()))
    );
}

#[test]
fn timestamps_too_far_ahead_or_behind_are_rejected() {
    assert_eq!(
        rejection(with("occurred_at", json!("2026-05-01T12:10:00Z"))).0,
        RejectReason::TimestampInFuture
    );
    assert_eq!(
        rejection(with("occurred_at", json!("2026-04-01T12:00:00Z"))).0,
        RejectReason::TimestampTooOld
    );
    assert_eq!(
        rejection(with("occurred_at", json!("yesterday"))),
        (RejectReason::InvalidField, Some("occurred_at".into()))
    );
}

#[test]
fn each_field_is_checked_for_presence_type_and_size() {
    let mut missing = event();
    missing.as_object_mut().map(|map| map.remove("client_id"));
    assert_eq!(
        rejection(missing),
        (RejectReason::MissingField, Some("client_id".into()))
    );
    assert_eq!(
        rejection(with("client_id", json!(""))).0,
        RejectReason::InvalidField
    );
    assert_eq!(
        rejection(with("session_id", json!(5))),
        (RejectReason::InvalidField, Some("session_id".into()))
    );
    assert_eq!(
        rejection(with("event_id", json!("not-a-uuid"))).0,
        RejectReason::InvalidField
    );
    assert_eq!(
        rejection(with("app_version", json!("9".repeat(65)))).0,
        RejectReason::InvalidField
    );
    assert_eq!(
        rejection(with("system", json!({"screen": "4k"}))),
        (RejectReason::UnknownField, Some("system.screen".into()))
    );
    assert_eq!(
        rejection(with("properties", json!([1, 2]))).0,
        RejectReason::InvalidField
    );
    assert_eq!(
        rejection(with("properties", json!({"text": "x".repeat(80)}))).0,
        RejectReason::PropertiesTooLarge
    );
    assert_eq!(rejection(json!("app_start")).0, RejectReason::InvalidEvent);
}
