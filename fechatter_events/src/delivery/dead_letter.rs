//! Parking an event a consumer gave up on in the stored dead-letter stream
//! (`FECHATTER_DEAD_LETTERS`, subjects `<prefix>.dlq.<consumer>`), with why in its headers.

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, Message};

/// The headers of a stored dead letter (`docs/design/events.md`).
pub mod headers {
    /// The subject the event was delivered on, where a re-drive publishes it again.
    pub const ORIGINAL_SUBJECT: &str = "Fechatter-Original-Subject";
    /// The durable consumer that gave up on it.
    pub const CONSUMER: &str = "Fechatter-Consumer";
    /// `<reason>: <detail>`, sanitised (printable ASCII, at most 500 characters).
    pub const REASON: &str = "Fechatter-Dead-Letter-Reason";
    /// How many times it had been delivered to that consumer.
    pub const DELIVERIES: &str = "Fechatter-Deliveries";
    /// On a re-driven event: the dead-letter stream sequence it came from.
    pub const REDRIVEN_FROM: &str = "Fechatter-Redriven-From";
}

const MAX_DETAIL_CHARS: usize = 500;
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(5);

/// Why an event was given up on; the `reason` label of `{service}_events_dead_lettered_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadLetterReason {
    /// It can never be handled as it is (an envelope or payload that does not decode).
    Malformed,
    /// Handling kept failing (or never answered) until the consumer's max-deliver.
    Failed,
}

impl DeadLetterReason {
    pub const ALL: [DeadLetterReason; 2] = [DeadLetterReason::Malformed, DeadLetterReason::Failed];

    pub const fn as_str(self) -> &'static str {
        match self {
            DeadLetterReason::Malformed => "malformed",
            DeadLetterReason::Failed => "failed",
        }
    }
}

/// How a service counts its dead letters: each implements it in its `observability/metrics.rs`
/// as `{service}_events_dead_lettered_total{reason}`.
pub trait DeadLetterRecorder: Send + Sync + 'static {
    fn dead_lettered(&self, reason: DeadLetterReason);
}

/// Printable ASCII only (no header injection, nothing a terminal would interpret), bounded.
pub fn sanitise(detail: &str) -> String {
    detail
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(MAX_DETAIL_CHARS)
        .collect()
}

/// Where and as whom a consumer parks events.
pub(super) struct Parking {
    pub consumer: String,
    pub subject: String,
}

impl Parking {
    /// Stores `message` in the dead-letter stream and waits for JetStream's ack. Its `Nats-Msg-Id`
    /// names the consumer and the event's stream sequence, so parking the same delivery twice (the
    /// term got lost and it came again) stores it once.
    pub async fn park(
        &self,
        jetstream: &jetstream::Context,
        message: &Message,
        reason: DeadLetterReason,
        detail: &str,
    ) -> Result<(), String> {
        let info = message.info().ok();
        let deliveries = info.as_ref().map_or(1, |info| info.delivered);
        let mut headers = HeaderMap::new();
        headers.insert(headers::ORIGINAL_SUBJECT, message.subject.as_str());
        headers.insert(headers::CONSUMER, self.consumer.as_str());
        let reason_text = sanitise(&format!("{}: {detail}", reason.as_str()));
        headers.insert(headers::REASON, reason_text.as_str());
        headers.insert(headers::DELIVERIES, deliveries.to_string().as_str());
        if let Some(info) = &info {
            let id = format!("{}-{}-{}", self.consumer, info.stream, info.stream_sequence);
            headers.insert(async_nats::header::NATS_MESSAGE_ID, id.as_str());
        }
        let stored = async {
            jetstream
                .publish_with_headers(self.subject.clone(), headers, message.payload.clone())
                .await
                .map_err(|err| err.to_string())?
                .await
                .map_err(|err| err.to_string())
        };
        match tokio::time::timeout(PUBLISH_TIMEOUT, stored).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(err)) => Err(err),
            Err(_) => Err(format!("no ack within {PUBLISH_TIMEOUT:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_is_printable_and_bounded() {
        assert_eq!(
            sanitise("bad\r\nInjected: yes\u{0}é"),
            "bad??Injected: yes??"
        );
        assert_eq!(sanitise(&"x".repeat(2_000)).len(), MAX_DETAIL_CHARS);
    }
}
