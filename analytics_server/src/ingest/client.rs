//! Client events into the buffer: validate each, keep the good ones, tell which were refused.

use std::time::Instant;

use chrono::Utc;
use fechatter_auth::Claims;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::buffer::{Admission, Pending};
use crate::error::{AppError, RejectedEvent};
use crate::events::client::{self, ClientEvent, Context, Limits};
use crate::events::{EventType, Source};
use crate::observability::metrics::IngestMetrics;
use crate::state::AppState;

/// The answer to a batch: every valid event is stored exactly once (`duplicates` of them had
/// been received before); `rejected` lists the others by their index in the batch.
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

/// Validates `events` and buffers the valid ones, all or none of them (a full buffer refuses the
/// whole request, so a client simply retries it; the event ids make the retry idempotent).
#[tracing::instrument(skip_all, fields(events = events.len()))]
pub fn ingest(
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
    let sessions: Vec<_> = valid
        .iter()
        .map(|event| (event.row.session_id.clone(), event.event_type))
        .collect();
    let event_ids: Vec<Uuid> = valid.iter().map(|event| event.row.event_id).collect();
    let pending = valid
        .into_iter()
        .map(|event| Pending::new(event.row, Source::Http, EventType::Client(event.event_type)))
        .collect();
    let admissions = state.buffer().try_accept(pending)?;
    let now = Instant::now();
    for ((session_id, event_type), admission) in sessions.iter().zip(&admissions) {
        if *admission == Admission::Queued {
            state.sessions().observe(session_id, *event_type, now);
        }
    }
    Ok(BatchOutcome {
        accepted: admissions.len(),
        duplicates: admissions
            .iter()
            .filter(|admission| **admission == Admission::Duplicate)
            .count(),
        event_ids,
        rejected,
    })
}
