//! `POST /api/event` and `POST /api/events`.

use axum::extract::State;
use fechatter_http::{ApiError, Json};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::client::{BatchOutcome, ingest};
use crate::error::AppError;
use crate::events::rejection::RejectReason;
use crate::limits::LimitedCaller;
use crate::observability::metrics::IngestMetrics;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    events: Vec<Value>,
}

#[derive(Debug, Serialize)]
pub struct Accepted {
    event_id: Uuid,
    duplicate: bool,
}

/// Counts a body the JSON extractor refused, then passes its error on.
fn refused_body(error: ApiError) -> AppError {
    let reason = match error.code {
        "malformed_json" => RejectReason::MalformedJson,
        "payload_too_large" => RejectReason::PayloadTooLarge,
        _ => RejectReason::InvalidBody,
    };
    IngestMetrics::rejected(reason.as_str());
    AppError::from(error)
}

pub async fn post_event(
    State(state): State<AppState>,
    LimitedCaller(caller): LimitedCaller,
    body: Result<Json<Value>, ApiError>,
) -> Result<(StatusCode, Json<Accepted>), AppError> {
    let Json(event) = body.map_err(refused_body)?;
    let outcome = ingest(&state, &caller.0, std::slice::from_ref(&event))
        .await
        .map_err(|err| match err {
            AppError::NoValidEvents(mut rejected) if rejected.len() == 1 => {
                AppError::InvalidEvent(rejected.remove(0))
            }
            other => other,
        })?;
    let BatchOutcome {
        duplicates,
        event_ids,
        ..
    } = outcome;
    let event_id = event_ids.first().copied().unwrap_or_default();
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            event_id,
            duplicate: duplicates > 0,
        }),
    ))
}

pub async fn post_events(
    State(state): State<AppState>,
    LimitedCaller(caller): LimitedCaller,
    body: Result<Json<Batch>, ApiError>,
) -> Result<(StatusCode, Json<BatchOutcome>), AppError> {
    let Json(batch) = body.map_err(refused_body)?;
    let max = state.config().ingest.batch_max_events;
    if batch.events.is_empty() {
        IngestMetrics::rejected(RejectReason::EmptyBatch.as_str());
        return Err(AppError::EmptyBatch);
    }
    if batch.events.len() > max {
        IngestMetrics::rejected(RejectReason::BatchTooLarge.as_str());
        return Err(AppError::BatchTooLarge {
            got: batch.events.len(),
            max,
        });
    }
    let outcome = ingest(&state, &caller.0, &batch.events).await?;
    Ok((StatusCode::ACCEPTED, Json(outcome)))
}
