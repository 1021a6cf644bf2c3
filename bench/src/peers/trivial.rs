//! The metrics-overhead subject: one trivial JSON route, served with or without the shared HTTP
//! metrics layer and Prometheus exporter, exactly as the services install them.
//!
//! The handler does almost nothing on purpose: the layer's share of a request is largest when the
//! request is cheapest, so this is the worst case for the relative figure, and the absolute cost
//! per request is what the layer adds to any service.

use axum::extract::Path;
use axum::routing::get;
use axum::{Json, Router};
use http::StatusCode;
use serde_json::{Value, json};
use service_kit::http::HttpMetricsLayer;
use service_kit::{ServiceInfo, SharedMetrics};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The metric prefix of the measured service.
pub const PREFIX: &str = "bench";

async fn item(Path(id): Path<u64>) -> Json<Value> {
    Json(json!({ "id": id, "name": "item", "tags": ["a", "b"] }))
}

/// The API router, with the metrics layer when `metrics` is on. Like the services, the layer
/// wraps a router whose state is already given (`with_state`), so its routes are final.
pub fn router(metrics: bool) -> Router {
    let router = Router::new()
        .route("/api/items/{id}", get(item))
        .route("/live", get(|| async { StatusCode::OK }))
        .with_state(());
    if metrics {
        router.layer(HttpMetricsLayer::new(SharedMetrics::for_prefix(PREFIX)))
    } else {
        router
    }
}

/// Installs the process-wide recorder as a service does at start-up.
pub fn install_exporter() -> anyhow::Result<service_kit::exporter::PrometheusHandle> {
    let service = ServiceInfo {
        name: "bench_trivial",
        prefix: PREFIX,
        version: env!("CARGO_PKG_VERSION"),
    };
    Ok(service_kit::exporter::install(
        service,
        &SharedMetrics::for_prefix(PREFIX).with_http(),
    )?)
}

pub async fn serve(
    api: TcpListener,
    metrics_port: TcpListener,
    metrics: bool,
) -> anyhow::Result<()> {
    if metrics {
        let handle = install_exporter()?;
        service_kit::exporter::spawn_upkeep(handle.clone(), CancellationToken::new());
        let exporter = service_kit::exporter::router(handle);
        tokio::spawn(async move { axum::serve(metrics_port, exporter).await });
    }
    axum::serve(api, router(metrics)).await?;
    Ok(())
}
