//! A client event as posted to `/api/event(s)`: field-by-field validation into an [`EventRow`].
//!
//! Events arrive as raw JSON values so one bad event of a batch can be rejected with the field
//! at fault while the others are kept.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::rejection::{RejectReason, Rejection};
use super::row::split_time;
use super::{ClientEventType, EventRow, Source};

const FIELDS: &[&str] = &[
    "event_id",
    "event_type",
    "client_id",
    "session_id",
    "occurred_at",
    "app_version",
    "system",
    "properties",
];
/// In the order [`system`] returns them.
const SYSTEM_FIELDS: [&str; 5] = ["os", "os_version", "arch", "locale", "device"];
/// Fields a client might send that only the access token may decide.
const TOKEN_FIELDS: &[&str] = &["user_id", "workspace_id"];
const MAX_ID_CHARS: usize = 128;
const MAX_VERSION_CHARS: usize = 64;
const MAX_SYSTEM_CHARS: usize = 128;

/// What the server, not the client, knows about an event.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// From the access token; 0 for an anonymous client.
    pub user_id: i64,
    pub workspace_id: i64,
    pub received_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How far ahead of our clock an event may claim to be (client clocks drift).
    pub max_future: Duration,
    /// How old an event may be (offline clients upload late, but not forever).
    pub max_age: Duration,
    pub max_properties_bytes: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClientEvent {
    pub event_type: ClientEventType,
    pub row: EventRow,
}

pub fn validate(
    value: &Value,
    context: Context,
    limits: &Limits,
) -> Result<ClientEvent, Rejection> {
    let Value::Object(map) = value else {
        return Err(Rejection {
            reason: RejectReason::InvalidEvent,
            field: None,
            message: "an event must be a JSON object".to_owned(),
        });
    };
    reject_unknown_fields(map)?;
    let event_type_text = required_str(map, "event_type", MAX_ID_CHARS)?;
    let event_type: ClientEventType = event_type_text.parse().map_err(|()| {
        Rejection::new(
            RejectReason::UnknownEventType,
            "event_type",
            format!("unknown event type {event_type_text:?}"),
        )
    })?;
    let event_id = match optional_str(map, "event_id", 64)? {
        Some(text) => Uuid::parse_str(text).map_err(|_| {
            Rejection::new(RejectReason::InvalidField, "event_id", "must be a UUID")
        })?,
        None => Uuid::now_v7(),
    };
    let client_id = required_str(map, "client_id", MAX_ID_CHARS)?;
    let session_id = optional_str(map, "session_id", MAX_ID_CHARS)?.unwrap_or_default();
    let occurred_at = occurred_at(map, context.received_at, limits)?;
    let app_version = optional_str(map, "app_version", MAX_VERSION_CHARS)?.unwrap_or_default();
    let [os, os_version, arch, locale, device] = system(map)?;
    let properties = properties(map, limits.max_properties_bytes)?;
    let (event_date, event_time, event_millis) = split_time(occurred_at);
    Ok(ClientEvent {
        event_type,
        row: EventRow {
            event_id,
            event_date,
            event_time,
            event_millis,
            received_at: context.received_at,
            source: Source::Http.as_str().to_owned(),
            event_type: event_type.as_str().to_owned(),
            workspace_id: context.workspace_id,
            user_id: context.user_id,
            chat_id: 0,
            chat_type: String::new(),
            client_id: client_id.to_owned(),
            session_id: session_id.to_owned(),
            app_version: app_version.to_owned(),
            os: os.to_owned(),
            os_version: os_version.to_owned(),
            arch: arch.to_owned(),
            locale: locale.to_owned(),
            device: device.to_owned(),
            properties,
        },
    })
}

fn reject_unknown_fields(map: &Map<String, Value>) -> Result<(), Rejection> {
    for key in map.keys() {
        if TOKEN_FIELDS.contains(&key.as_str()) {
            return Err(Rejection::new(
                RejectReason::UnknownField,
                key,
                format!("{key} is taken from the access token, never from the body"),
            ));
        }
        if !FIELDS.contains(&key.as_str()) {
            return Err(Rejection::new(
                RejectReason::UnknownField,
                key,
                format!("unknown field {key:?}"),
            ));
        }
    }
    Ok(())
}

/// A string field that may be absent or null; over `max_chars` is refused.
fn optional_str<'a>(
    map: &'a Map<String, Value>,
    field: &str,
    max_chars: usize,
) -> Result<Option<&'a str>, Rejection> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.chars().count() > max_chars => Err(Rejection::new(
            RejectReason::InvalidField,
            field,
            format!("must be at most {max_chars} characters"),
        )),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(Rejection::new(
            RejectReason::InvalidField,
            field,
            "must be a string",
        )),
    }
}

fn required_str<'a>(
    map: &'a Map<String, Value>,
    field: &str,
    max_chars: usize,
) -> Result<&'a str, Rejection> {
    match optional_str(map, field, max_chars)? {
        Some(text) if !text.trim().is_empty() => Ok(text),
        Some(_) => Err(Rejection::new(
            RejectReason::InvalidField,
            field,
            "must not be empty",
        )),
        None => Err(Rejection::new(
            RejectReason::MissingField,
            field,
            format!("{field} is required"),
        )),
    }
}

fn occurred_at(
    map: &Map<String, Value>,
    now: DateTime<Utc>,
    limits: &Limits,
) -> Result<DateTime<Utc>, Rejection> {
    const FIELD: &str = "occurred_at";
    let text = required_str(map, FIELD, 64)?;
    let at = DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| {
            Rejection::new(
                RejectReason::InvalidField,
                FIELD,
                "must be an RFC 3339 timestamp",
            )
        })?;
    let max_future = chrono::Duration::from_std(limits.max_future).unwrap_or_default();
    let max_age = chrono::Duration::from_std(limits.max_age).unwrap_or_default();
    if at > now + max_future {
        return Err(Rejection::new(
            RejectReason::TimestampInFuture,
            FIELD,
            format!(
                "is more than {} s ahead of the server clock",
                limits.max_future.as_secs()
            ),
        ));
    }
    // DateTime cannot hold instants before 1970 either.
    if at < now - max_age || at.timestamp() < 0 {
        return Err(Rejection::new(
            RejectReason::TimestampTooOld,
            FIELD,
            format!("is more than {} s in the past", limits.max_age.as_secs()),
        ));
    }
    Ok(at)
}

/// The fields of `system` in [`SYSTEM_FIELDS`] order, empty where absent or null.
fn system(map: &Map<String, Value>) -> Result<[&str; SYSTEM_FIELDS.len()], Rejection> {
    let mut cleaned = [""; SYSTEM_FIELDS.len()];
    let system = match map.get("system") {
        None | Some(Value::Null) => return Ok(cleaned),
        Some(Value::Object(system)) => system,
        Some(_) => {
            return Err(Rejection::new(
                RejectReason::InvalidField,
                "system",
                "must be an object",
            ));
        }
    };
    let field = |key: &str| format!("system.{key}");
    for (key, value) in system {
        let Some(slot) = SYSTEM_FIELDS.iter().position(|known| known == key) else {
            let field = field(key);
            return Err(Rejection::new(
                RejectReason::UnknownField,
                &field,
                format!("unknown field {field:?}; put extra details in properties"),
            ));
        };
        match value {
            Value::Null => {}
            Value::String(text) if text.chars().count() <= MAX_SYSTEM_CHARS => {
                cleaned[slot] = text;
            }
            Value::String(_) => {
                return Err(Rejection::new(
                    RejectReason::InvalidField,
                    &field(key),
                    format!("must be at most {MAX_SYSTEM_CHARS} characters"),
                ));
            }
            _ => {
                return Err(Rejection::new(
                    RejectReason::InvalidField,
                    &field(key),
                    "must be a string",
                ));
            }
        }
    }
    Ok(cleaned)
}

/// The properties object re-serialised compactly, so its size is what ClickHouse stores.
fn properties(map: &Map<String, Value>, max_bytes: usize) -> Result<String, Rejection> {
    match map.get("properties") {
        None | Some(Value::Null) => Ok("{}".to_owned()),
        Some(value @ Value::Object(_)) => {
            let text = value.to_string();
            if text.len() > max_bytes {
                return Err(Rejection::new(
                    RejectReason::PropertiesTooLarge,
                    "properties",
                    format!("must be at most {max_bytes} bytes of JSON"),
                ));
            }
            Ok(text)
        }
        Some(_) => Err(Rejection::new(
            RejectReason::InvalidField,
            "properties",
            "must be a JSON object",
        )),
    }
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
