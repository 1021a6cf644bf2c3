//! `GET /events`: the caller's events as a Server-Sent Events stream.

use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::response::sse::{KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use chrono::Utc;

use crate::auth::AuthUser;
use crate::connection::{Connection, Opening};
use crate::error::NotifyError;
use crate::replay::Resume;
use crate::state::AppState;

const X_ACCEL_BUFFERING: HeaderName = HeaderName::from_static("x-accel-buffering");

#[tracing::instrument(skip_all, fields(user = %claims.sub))]
pub async fn events(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    headers: HeaderMap,
) -> Result<Response, NotifyError> {
    let resume = Resume::from_headers(&headers);
    let user = claims.user_id();
    let lifetime = u64::try_from(claims.exp - Utc::now().timestamp()).unwrap_or(0);
    let replayer = state.replayer().clone();
    let connection = Connection::open(
        state.hub().clone(),
        Opening {
            user,
            workspace: claims.workspace_id(),
            token_expires: tokio::time::Instant::now() + Duration::from_secs(lifetime),
            closing: state.closing().clone(),
        },
        Box::pin(async move { replayer.catch_up(user, resume).await }),
    )?;
    let keep_alive = KeepAlive::new()
        .interval(state.config().sse.keep_alive)
        .text("keep-alive");
    Ok((
        [
            (X_ACCEL_BUFFERING, HeaderValue::from_static("no")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        Sse::new(connection.into_stream()).keep_alive(keep_alive),
    )
        .into_response())
}
