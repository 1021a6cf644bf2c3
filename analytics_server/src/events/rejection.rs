//! Why an event or a request was refused: the error `code` a client sees and the
//! `analytics_event_validation_errors_total{reason}` label, from one closed set.

/// Why an event or a request was refused; `as_str` is both the error `code` and the
/// `analytics_event_validation_errors_total{reason}` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    MalformedJson,
    InvalidBody,
    InvalidEvent,
    UnknownField,
    MissingField,
    InvalidField,
    UnknownEventType,
    TimestampInFuture,
    TimestampTooOld,
    PropertiesTooLarge,
    EmptyBatch,
    BatchTooLarge,
    PayloadTooLarge,
}

impl RejectReason {
    pub const fn as_str(self) -> &'static str {
        match self {
            RejectReason::MalformedJson => "malformed_json",
            RejectReason::InvalidBody => "invalid_body",
            RejectReason::InvalidEvent => "invalid_event",
            RejectReason::UnknownField => "unknown_field",
            RejectReason::MissingField => "missing_field",
            RejectReason::InvalidField => "invalid_field",
            RejectReason::UnknownEventType => "unknown_event_type",
            RejectReason::TimestampInFuture => "timestamp_in_future",
            RejectReason::TimestampTooOld => "timestamp_too_old",
            RejectReason::PropertiesTooLarge => "properties_too_large",
            RejectReason::EmptyBatch => "empty_batch",
            RejectReason::BatchTooLarge => "batch_too_large",
            RejectReason::PayloadTooLarge => "payload_too_large",
        }
    }
}

/// One refused event: the reason, the field at fault (when one is) and a sentence for humans.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub reason: RejectReason,
    pub field: Option<String>,
    pub message: String,
}

impl Rejection {
    pub(crate) fn new(reason: RejectReason, field: &str, message: impl Into<String>) -> Self {
        Self {
            reason,
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }
}
