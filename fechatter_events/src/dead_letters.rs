//! Looking at and re-driving the stored dead letters (`FECHATTER_DEAD_LETTERS`): what the
//! `dead_letters` command runs (see `docs/runbook.md`).
//!
//! A re-drive publishes the event again on its original subject with a fresh `Nats-Msg-Id`
//! (`redrive-<dead-letter stream>-<sequence>`): the original id would be dropped by JetStream's
//! duplicate window if the event failed recently, and a fresh one per dead letter still makes a
//! repeated re-drive of the same dead letter (a retry after a partial failure) store it once.
//! Every consumer of the stream sees the event again and recognises what it already did by the
//! envelope id (the bot's processed events, analytics' stored ids, the push core's recent ids);
//! a consumer records an event as done only once it succeeded, so the one that gave up handles it.
//! Once the copy is stored, the dead letter is deleted.

use async_nats::jetstream::{self, stream::Stream};
use async_nats::{HeaderMap, header};
use bytes::Bytes;

use crate::EventBus;
use crate::delivery::headers;

/// One stored dead letter.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    /// Its sequence in the dead-letter stream: the id an operator names.
    pub sequence: u64,
    /// When it was stored (UTC).
    pub stored_at: String,
    pub original_subject: String,
    pub consumer: String,
    pub reason: String,
    pub deliveries: String,
    pub payload: Bytes,
}

/// Which dead letters a command is about: all, a consumer's (`bot` or `analytics` match every
/// consumer of that service, `bot_assistant` only its own), and/or the given sequences.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub consumer: Option<String>,
    pub ids: Vec<u64>,
}

impl Selection {
    fn matches(&self, letter: &DeadLetter) -> bool {
        let consumer = self.consumer.as_deref().is_none_or(|wanted| {
            letter.consumer == wanted
                || letter
                    .consumer
                    .strip_prefix(wanted)
                    .is_some_and(|rest| rest.starts_with('_'))
        });
        consumer && (self.ids.is_empty() || self.ids.contains(&letter.sequence))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    #[error("the dead-letter stream {stream}: {source}")]
    Stream {
        stream: String,
        source: async_nats::Error,
    },
    #[error("dead letter {sequence} has no original subject")]
    NoSubject { sequence: u64 },
    #[error("re-driving dead letter {sequence}: {source}")]
    Publish {
        sequence: u64,
        source: async_nats::Error,
    },
}

fn header_text(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .map(|value| value.as_str().to_owned())
        .unwrap_or_default()
}

async fn stream(jetstream: &jetstream::Context, bus: &EventBus) -> Result<Stream, DeadLetterError> {
    let name = bus.dead_letter_stream();
    bus.ensure_dead_letter_stream(jetstream)
        .await
        .map_err(|source| DeadLetterError::Stream {
            stream: name,
            source,
        })
}

/// The selected dead letters, oldest first.
pub async fn list(
    jetstream: &jetstream::Context,
    bus: &EventBus,
    selection: &Selection,
) -> Result<Vec<DeadLetter>, DeadLetterError> {
    let mut stream = stream(jetstream, bus).await?;
    let state = stream
        .info()
        .await
        .map_err(|source| DeadLetterError::Stream {
            stream: bus.dead_letter_stream(),
            source: source.into(),
        })?
        .state
        .clone();
    if state.messages == 0 {
        return Ok(Vec::new());
    }
    let sequences: Vec<u64> = if selection.ids.is_empty() {
        (state.first_sequence..=state.last_sequence).collect()
    } else {
        selection.ids.clone()
    };
    let mut letters = Vec::new();
    for sequence in sequences {
        // A deleted sequence (re-driven or expired) is simply not there.
        let Ok(message) = stream.get_raw_message(sequence).await else {
            continue;
        };
        let letter = DeadLetter {
            sequence,
            stored_at: message.time.to_string(),
            original_subject: header_text(&message.headers, headers::ORIGINAL_SUBJECT),
            consumer: header_text(&message.headers, headers::CONSUMER),
            reason: header_text(&message.headers, headers::REASON),
            deliveries: header_text(&message.headers, headers::DELIVERIES),
            payload: message.payload,
        };
        if selection.matches(&letter) {
            letters.push(letter);
        }
    }
    Ok(letters)
}

/// Re-drives the selected dead letters to their original subjects (with `replacement` as the body
/// instead of the stored one, to re-drive a corrected event) and deletes each once its copy is
/// stored. Returns the sequences re-driven; stops at the first failure.
pub async fn redrive(
    jetstream: &jetstream::Context,
    bus: &EventBus,
    selection: &Selection,
    replacement: Option<Bytes>,
) -> Result<Vec<u64>, DeadLetterError> {
    let letters = list(jetstream, bus, selection).await?;
    let stream = stream(jetstream, bus).await?;
    let mut redriven = Vec::with_capacity(letters.len());
    for letter in letters {
        let sequence = letter.sequence;
        if letter.original_subject.is_empty() {
            return Err(DeadLetterError::NoSubject { sequence });
        }
        let mut headers = HeaderMap::new();
        let id = format!("redrive-{}-{sequence}", bus.dead_letter_stream());
        headers.insert(header::NATS_MESSAGE_ID, id.as_str());
        headers.insert(headers::REDRIVEN_FROM, sequence.to_string().as_str());
        let payload = replacement.clone().unwrap_or(letter.payload);
        let publish = |source: async_nats::Error| DeadLetterError::Publish { sequence, source };
        jetstream
            .publish_with_headers(letter.original_subject, headers, payload)
            .await
            .map_err(|err| publish(err.into()))?
            .await
            .map_err(|err| publish(err.into()))?;
        stream
            .delete_message(sequence)
            .await
            .map_err(|err| publish(err.into()))?;
        redriven.push(sequence);
    }
    Ok(redriven)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(consumer: &str, sequence: u64) -> DeadLetter {
        DeadLetter {
            sequence,
            stored_at: String::new(),
            original_subject: "fechatter.events.message.created".to_owned(),
            consumer: consumer.to_owned(),
            reason: String::new(),
            deliveries: "1".to_owned(),
            payload: Bytes::new(),
        }
    }

    #[test]
    fn a_selection_matches_a_service_or_one_consumer_and_ids() {
        let bot = Selection {
            consumer: Some("bot".to_owned()),
            ids: Vec::new(),
        };
        assert!(bot.matches(&letter("bot", 1)));
        assert!(bot.matches(&letter("bot_assistant", 2)));
        assert!(!bot.matches(&letter("analytics", 3)));
        assert!(!bot.matches(&letter("bots", 4)));
        let one = Selection {
            consumer: None,
            ids: vec![3],
        };
        assert!(one.matches(&letter("analytics", 3)));
        assert!(!one.matches(&letter("analytics", 4)));
        assert!(Selection::default().matches(&letter("anything", 9)));
    }
}
