//! Client events in their JetStream stream (`FECHATTER_CLIENT_EVENTS`, subject
//! `<prefix>.client_events.batch`): an accepted request is stored there before its `202`, as
//! JSON arrays of rows of at most [`CHUNK_BYTES`] each, and written to ClickHouse by the consumer
//! `analytics_client_events` like any other event.
//!
//! Each message's `Nats-Msg-Id` is a digest of the workspace and event ids it holds, so a client
//! retrying the same request within JetStream's duplicate window stores nothing twice (beyond it,
//! the event ids do), while another workspace reporting the same ids is never taken for a retry.

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, context::PublishAckFuture};
use sha2::{Digest, Sha256};

use crate::events::EventRow;

/// Well under NATS's default message limit (1 MiB) whatever the rows hold.
pub const CHUNK_BYTES: usize = 256 * 1024;
/// How long a request waits for JetStream to store its events before it answers 503.
const STORE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("encoding client events: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("JetStream did not store the client events: {0}")]
    NotStored(String),
}

/// The rows as message bodies of at most [`CHUNK_BYTES`] (a single larger row gets one of its
/// own), each with its `Nats-Msg-Id`.
pub fn chunks(rows: &[EventRow]) -> Result<Vec<(Vec<u8>, String)>, serde_json::Error> {
    let mut chunks = Vec::new();
    let mut body = Vec::new();
    let mut digest = Sha256::new();
    for row in rows {
        let encoded = serde_json::to_vec(row)?;
        if !body.is_empty() && body.len() + encoded.len() + 2 > CHUNK_BYTES {
            body.push(b']');
            chunks.push((
                std::mem::take(&mut body),
                hex::encode(digest.finalize_reset()),
            ));
        }
        body.push(if body.is_empty() { b'[' } else { b',' });
        body.extend_from_slice(&encoded);
        digest.update(row.workspace_id.to_be_bytes());
        digest.update(row.event_id.as_bytes());
    }
    if !body.is_empty() {
        body.push(b']');
        chunks.push((body, hex::encode(digest.finalize())));
    }
    Ok(chunks)
}

/// The rows a stored message holds.
pub fn rows(body: &[u8]) -> Result<Vec<EventRow>, serde_json::Error> {
    serde_json::from_slice(body)
}

/// Stores `rows` in the client-event stream and waits until JetStream has acknowledged every
/// message: only then may the request be answered `202`.
pub async fn store(
    jetstream: &jetstream::Context,
    subject: &str,
    rows: &[EventRow],
) -> Result<(), StoreError> {
    let mut acks: Vec<PublishAckFuture> = Vec::new();
    for (body, id) in chunks(rows)? {
        let mut headers = HeaderMap::new();
        headers.insert(async_nats::header::NATS_MESSAGE_ID, id.as_str());
        let ack = jetstream
            .publish_with_headers(subject.to_owned(), headers, body.into())
            .await
            .map_err(|err| StoreError::NotStored(err.to_string()))?;
        acks.push(ack);
    }
    let stored = async {
        for ack in acks {
            ack.await
                .map_err(|err| StoreError::NotStored(err.to_string()))?;
        }
        Ok(())
    };
    tokio::time::timeout(STORE_TIMEOUT, stored)
        .await
        .unwrap_or_else(|_| {
            Err(StoreError::NotStored(format!(
                "no ack within {STORE_TIMEOUT:?}"
            )))
        })
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use uuid::Uuid;

    use super::*;

    fn row(properties: usize) -> EventRow {
        let now = Utc::now();
        let (event_date, event_time, event_millis) = crate::events::row::split_time(now);
        EventRow {
            event_id: Uuid::now_v7(),
            event_date,
            event_time,
            event_millis,
            received_at: event_time,
            source: "http".into(),
            event_type: "app_start".into(),
            workspace_id: 1,
            user_id: 2,
            chat_id: 0,
            chat_type: String::new(),
            client_id: "c".into(),
            session_id: "s".into(),
            app_version: String::new(),
            os: String::new(),
            os_version: String::new(),
            arch: String::new(),
            locale: String::new(),
            device: String::new(),
            properties: format!("{{\"p\":\"{}\"}}", "x".repeat(properties)),
        }
    }

    #[test]
    fn rows_travel_in_bounded_chunks_and_come_back_unchanged() {
        let rows: Vec<EventRow> = (0..1_000).map(|_| row(1_000)).collect();
        let chunks = chunks(&rows).unwrap_or_else(|err| panic!("{err}"));
        assert!(chunks.len() > 1);
        assert!(chunks.iter().all(|(body, _)| body.len() <= CHUNK_BYTES));
        let back: Vec<EventRow> = chunks
            .iter()
            .flat_map(|(body, _)| super::rows(body).unwrap_or_else(|err| panic!("{err}")))
            .collect();
        assert_eq!(back, rows);
    }

    #[test]
    fn the_same_rows_make_the_same_message_ids_and_another_workspace_other_ones() {
        let rows: Vec<EventRow> = (0..10).map(|_| row(10)).collect();
        let ids = |rows: &[EventRow]| -> Vec<String> {
            chunks(rows)
                .unwrap_or_default()
                .into_iter()
                .map(|(_, id)| id)
                .collect()
        };
        assert_eq!(ids(&rows), ids(&rows));
        assert_ne!(ids(&rows), ids(&rows[1..]));
        let elsewhere: Vec<EventRow> = rows
            .iter()
            .cloned()
            .map(|mut row| {
                row.workspace_id = 7;
                row
            })
            .collect();
        assert_ne!(ids(&rows), ids(&elsewhere));
    }
}
