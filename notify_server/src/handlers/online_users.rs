//! `GET /online-users`: who in the caller's workspace has an open SSE connection, on any instance.

use std::time::Instant;

use axum::extract::State;
use fechatter_events::{UserId, WorkspaceId};
use fechatter_http::Json;
use serde::Serialize;

use crate::auth::AuthUser;
use crate::observability::metrics::PresenceMetrics;
use crate::state::AppState;

#[derive(Debug, Serialize)]
pub struct OnlineUsers {
    pub workspace_id: WorkspaceId,
    /// In id order.
    pub user_ids: Vec<UserId>,
}

#[tracing::instrument(skip_all, fields(workspace = %claims.ws))]
pub async fn online_users(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
) -> Json<OnlineUsers> {
    let started = Instant::now();
    let workspace_id = claims.workspace_id();
    let user_ids = state.push().online_users(workspace_id);
    PresenceMetrics::query(started.elapsed());
    Json(OnlineUsers {
        workspace_id,
        user_ids,
    })
}
