//! The frames of `GET /api/ws`, all JSON text.
//!
//! Client → server, each with an optional `id` (a string of up to 64 characters) echoed in the
//! answer:
//! - `{"type":"send_message","chat_id":1,"content":"hi","reply_to":null,"files":[],"idempotency_key":"k1"}`
//! - `{"type":"typing","chat_id":1}`
//! - `{"type":"mark_read","chat_id":1,"message_id":5}`
//!
//! Server → client:
//! - `{"type":"ack","id":"…","result":{…}}`: the command's result;
//! - `{"type":"error","id":"…","status":422,"error":{"code":"…","message":"…"}}`: the HTTP API's
//!   status and error envelope;
//! - `{"type":"event","event":{…},"cursor":"epoch:seq"}`: a domain event envelope the caller is a
//!   recipient of, and its place in the log; a client reconnecting with `?cursor=` gets what it
//!   missed since (as `Last-Event-ID` does for SSE);
//! - `{"type":"connected","cursor":"epoch:seq"}` once the socket is caught up and live;
//! - `{"type":"resync","reason":"epoch|too_old|too_many|unavailable","cursor":"epoch:seq"}` instead
//!   of a replay that cannot be made: refetch over HTTP and continue from `cursor`.

use axum::extract::ws::Utf8Bytes;
use fechatter_events::{ChatId, FileId, MessageId};
use fechatter_http::ApiError;
use fechatter_push::{Frame, FrameKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::AppError;
use crate::models::Message;
use crate::models::message::ReadState;

/// The longest request id a client may give.
pub const MAX_ID_CHARS: usize = 64;

/// A client command.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Command {
    SendMessage(SendMessageCommand),
    Typing(TypingCommand),
    MarkRead(MarkReadCommand),
}

/// The body of `POST /api/chats/{id}/messages`, with the chat and the idempotency key inline.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessageCommand {
    pub chat_id: ChatId,
    pub content: String,
    #[serde(default)]
    pub reply_to: Option<MessageId>,
    #[serde(default)]
    #[schema(max_items = 10)]
    pub files: Vec<FileId>,
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TypingCommand {
    pub chat_id: ChatId,
}

#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkReadCommand {
    pub chat_id: ChatId,
    pub message_id: MessageId,
}

/// What an ack carries.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(untagged)]
pub enum AckResult {
    // Boxed: a whole message is far larger than the other answers.
    Sent(Box<SentMessage>),
    Typing(TypingAck),
    Read(ReadState),
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SentMessage {
    pub message: Message,
    /// True when the idempotency key had already been used: `message` is the original.
    pub replayed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TypingAck {
    /// False when the signal was dropped by the throttle (one per user and chat per interval).
    pub published: bool,
}

/// A text frame parsed into its request id and command, or the error to answer with.
pub fn parse(text: &str) -> (Option<String>, Result<Command, AppError>) {
    let mut value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(err) => {
            return (
                None,
                Err(AppError::bad_request("malformed_frame", err.to_string())),
            );
        }
    };
    let id = match value.as_object_mut().map(|object| object.remove("id")) {
        None => {
            return (
                None,
                Err(AppError::bad_request(
                    "malformed_frame",
                    "a frame is a JSON object",
                )),
            );
        }
        Some(None | Some(Value::Null)) => None,
        Some(Some(Value::String(id))) if id.chars().count() <= MAX_ID_CHARS => Some(id),
        Some(Some(_)) => {
            return (
                None,
                Err(AppError::bad_request(
                    "invalid_id",
                    format!("id is a string of at most {MAX_ID_CHARS} characters"),
                )),
            );
        }
    };
    if crate::extract::has_nul(&value) {
        return (
            id,
            Err(AppError::invalid(
                "invalid_command",
                crate::extract::NUL_MESSAGE,
            )),
        );
    }
    let command = serde_json::from_value(value).map_err(|err| {
        AppError::invalid(
            "invalid_command",
            format!("{err}; commands are send_message, typing and mark_read"),
        )
    });
    (id, command)
}

pub fn ack(id: Option<&str>, result: &AckResult) -> Utf8Bytes {
    let frame = serde_json::json!({"type": "ack", "id": id, "result": result});
    Utf8Bytes::from(frame.to_string())
}

pub fn error(id: Option<&str>, err: AppError) -> Utf8Bytes {
    let api = ApiError::from(err);
    let frame = serde_json::json!({
        "type": "error",
        "id": id,
        "status": api.status.as_u16(),
        "error": api.body(),
    });
    Utf8Bytes::from(frame.to_string())
}

/// The frame of something the push core sends: an event around its envelope's JSON (not
/// re-encoded) with its cursor, or a signal's fields under its `type`.
pub fn push(frame: &Frame) -> Utf8Bytes {
    let data = frame.data.as_ref();
    let text = match (frame.kind, frame.cursor) {
        (FrameKind::Domain(_), Some(cursor)) => {
            format!(r#"{{"type":"event","event":{data},"cursor":"{cursor}"}}"#)
        }
        (FrameKind::Domain(_), None) => format!(r#"{{"type":"event","event":{data}}}"#),
        (kind, _) => match data.strip_prefix('{').map(str::trim_start) {
            Some(rest) if rest != "}" => format!(r#"{{"type":"{}",{rest}"#, kind.as_str()),
            _ => format!(r#"{{"type":"{}"}}"#, kind.as_str()),
        },
    };
    Utf8Bytes::from(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(result: &Result<Command, AppError>) -> &'static str {
        match result {
            Ok(_) => "ok",
            Err(AppError::BadRequest { code, .. } | AppError::Invalid { code, .. }) => code,
            Err(_) => "other",
        }
    }

    #[test]
    fn commands_parse_with_their_request_id() {
        let (id, command) = parse(r#"{"id":"r1","type":"mark_read","chat_id":3,"message_id":9}"#);
        assert_eq!(id.as_deref(), Some("r1"));
        assert_eq!(
            command.ok(),
            Some(Command::MarkRead(MarkReadCommand {
                chat_id: ChatId(3),
                message_id: MessageId(9)
            }))
        );
        let (id, command) = parse(r#"{"type":"typing","chat_id":3}"#);
        assert_eq!((id, code(&command)), (None, "ok"));
    }

    #[test]
    fn bad_frames_get_a_code_and_keep_the_id_when_there_is_one() {
        assert_eq!(code(&parse("not json").1), "malformed_frame");
        assert_eq!(code(&parse("[1,2]").1), "malformed_frame");
        assert_eq!(code(&parse(r#"{"id":5,"type":"typing"}"#).1), "invalid_id");
        let (id, command) = parse(r#"{"id":"x","type":"explode"}"#);
        assert_eq!(
            (id.as_deref(), code(&command)),
            (Some("x"), "invalid_command")
        );
        let unknown_field = parse(r#"{"type":"typing","chat_id":1,"admin":true}"#).1;
        assert_eq!(code(&unknown_field), "invalid_command");
        assert_eq!(code(&parse(r#"{"type":"typing"}"#).1), "invalid_command");
    }

    #[test]
    fn pushed_frames_carry_their_cursor_and_signals_their_fields() {
        use fechatter_events::EventKind;
        use fechatter_push::{Cursor, Epoch};
        let cursor = Cursor {
            epoch: Epoch(3),
            seq: 9,
        };
        let event = Frame::event(
            EventKind::ChatRead,
            cursor,
            chrono::Utc::now(),
            r#"{"a":1}"#,
        );
        let value: Value = serde_json::from_str(push(&event).as_str()).unwrap_or_default();
        assert_eq!(
            value,
            serde_json::json!({"type": "event", "event": {"a": 1}, "cursor": "3:9"})
        );
        let resync = Frame::signal(
            FrameKind::Resync,
            Some(cursor),
            &serde_json::json!({"reason": "epoch", "cursor": "3:9"}),
        );
        let value: Value = serde_json::from_str(push(&resync).as_str()).unwrap_or_default();
        assert_eq!(
            value,
            serde_json::json!({"type": "resync", "reason": "epoch", "cursor": "3:9"})
        );
        let bare = Frame::signal(FrameKind::Connected, None, &serde_json::json!({}));
        assert_eq!(push(&bare).as_str(), r#"{"type":"connected"}"#);
    }

    #[test]
    fn an_error_frame_carries_the_http_status_and_envelope() {
        let frame = error(Some("r2"), AppError::NotFound("chat"));
        let value: Value = serde_json::from_str(frame.as_str()).unwrap_or_default();
        assert_eq!(value["type"], "error");
        assert_eq!(value["id"], "r2");
        assert_eq!(value["status"], 404);
        assert_eq!(value["error"]["code"], "not_found");
    }
}
