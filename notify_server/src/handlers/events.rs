//! `GET /events`: the caller's events as a Server-Sent Events stream.

use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use fechatter_push::{Opening, Resume};

use crate::auth::AuthUser;
use crate::connection::SseConnection;
use crate::error::NotifyError;
use crate::state::AppState;

const X_ACCEL_BUFFERING: HeaderName = HeaderName::from_static("x-accel-buffering");

#[tracing::instrument(skip_all, fields(user = %claims.sub))]
pub async fn events(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    headers: HeaderMap,
) -> Result<Response, NotifyError> {
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok());
    let lifetime = u64::try_from(claims.exp - Utc::now().timestamp()).unwrap_or(0);
    let live = state.push().open(Opening {
        user: claims.user_id(),
        workspace: claims.workspace_id(),
        session: claims.sid,
        token_expires: tokio::time::Instant::now() + Duration::from_secs(lifetime),
        resume: Resume::parse(last_event_id),
    })?;
    let connection = SseConnection::new(live, state.config().sse.keep_alive);
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream"),
            ),
            (X_ACCEL_BUFFERING, HeaderValue::from_static("no")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        // The events are encoded once per frame for every connection (`SseConnection`), where
        // axum's `Sse` would encode each event again for each stream.
        Body::from_stream(connection.into_stream()),
    )
        .into_response())
}
