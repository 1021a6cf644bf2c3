//! Client events in: validate each, store the good ones in their JetStream stream (durable before
//! the `202`), tell which were refused.

use std::time::Instant;

use chrono::Utc;
use fechatter_auth::Claims;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::buffer::DedupKey;
use crate::error::{AppError, RejectedEvent};
use crate::events::client::{self, ClientEvent, Context, Limits};
use crate::events::{ClientEventType, EventRow, Source};
use crate::observability::metrics::IngestMetrics;
use crate::state::AppState;

/// The answer to a batch: every valid event is stored exactly once (`duplicates` of them had
/// been received before, as far as this instance remembers); `rejected` lists the others by their
/// index in the batch.
#[derive(Debug, Serialize)]
pub struct BatchOutcome {
    pub accepted: usize,
    pub duplicates: usize,
    pub event_ids: Vec<Uuid>,
    pub rejected: Vec<RejectedEvent>,
}

fn limits(state: &AppState) -> Limits {
    let ingest = &state.config().ingest;
    Limits {
        max_future: ingest.max_future,
        max_age: ingest.max_age,
        max_properties_bytes: ingest.max_properties_bytes,
    }
}

/// Validates `events` and stores the valid ones in the client-event stream, all or none of them
/// (when JetStream does not acknowledge them the whole request is refused with 503, so a client
/// simply retries it; the event ids make the retry idempotent).
#[tracing::instrument(skip_all, fields(events = events.len()))]
pub async fn ingest(
    state: &AppState,
    caller: &Claims,
    events: &[Value],
) -> Result<BatchOutcome, AppError> {
    let context = Context {
        user_id: caller.user_id().0,
        workspace_id: caller.workspace_id().0,
        received_at: Utc::now(),
    };
    let limits = limits(state);
    let mut valid: Vec<ClientEvent> = Vec::with_capacity(events.len());
    let mut rejected = Vec::new();
    for (index, value) in events.iter().enumerate() {
        match client::validate(value, context, &limits) {
            Ok(event) => valid.push(event),
            Err(rejection) => {
                IngestMetrics::rejected(rejection.reason.as_str());
                rejected.push(RejectedEvent::new(index, rejection));
            }
        }
    }
    if valid.is_empty() {
        return Err(AppError::NoValidEvents(rejected));
    }
    let event_ids: Vec<Uuid> = valid.iter().map(|event| event.row.event_id).collect();
    let accepted = valid.len();
    // What this instance buffered or wrote recently (a retried request) is not stored again.
    let (known, fresh): (Vec<ClientEvent>, Vec<ClientEvent>) =
        valid.into_iter().partition(|event| {
            state
                .buffer()
                .knows(&DedupKey::of(&event.row, Source::Http))
        });
    for _ in &known {
        IngestMetrics::duplicate(Source::Http);
    }
    let duplicates = known.len();
    let (types, rows): (Vec<ClientEventType>, Vec<EventRow>) = fresh
        .into_iter()
        .map(|event| (event.event_type, event.row))
        .unzip();
    if !rows.is_empty() {
        state.store_client_events(&rows).await?;
    }
    let now = Instant::now();
    for (row, event_type) in rows.iter().zip(types) {
        state.sessions().observe(&row.session_id, event_type, now);
    }
    Ok(BatchOutcome {
        accepted,
        duplicates,
        event_ids,
        rejected,
    })
}
