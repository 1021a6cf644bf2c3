//! The three endpoints: `/live` never touches a dependency, `/ready` and `/health` answer from a
//! report at most a second old (one run of the checks serves every caller waiting for a fresh one).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use super::{Health, OverallStatus};

impl Health {
    /// The router with `/health`, `/ready` and `/live`. It carries no auth and no rate limit, and
    /// is merged outside the HTTP metrics layer.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/live", get(live))
            .route("/ready", get(ready))
            .route("/health", get(health))
            .with_state(self.clone())
    }
}

async fn live(State(health): State<Health>) -> Response {
    health.count("/live", StatusCode::OK);
    (StatusCode::OK, Json(serde_json::json!({"status": "alive"}))).into_response()
}

async fn ready(State(health): State<Health>) -> Response {
    let readiness = health.readiness().await;
    let status = if readiness.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    health.count("/ready", status);
    (status, Json(readiness)).into_response()
}

async fn health(State(health): State<Health>) -> Response {
    let report = health.report().await;
    let status = match report.status {
        OverallStatus::Unhealthy => StatusCode::SERVICE_UNAVAILABLE,
        OverallStatus::Healthy | OverallStatus::Degraded => StatusCode::OK,
    };
    health.count("/health", status);
    (status, Json(report)).into_response()
}
