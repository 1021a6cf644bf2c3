//! Checks and helpers for the operations files: `docker-compose.yml`, `prometheus/`, `grafana/` and
//! `docs/runbook.md`. The tests in `tests/ops_*.rs` use them; the end-to-end suite evaluates the
//! dashboards against its Prometheus with [`prometheus_api::PrometheusApi::evaluate_panels`].

pub mod catalogue;
pub mod compose;
pub mod dashboards;
pub mod prometheus_api;
pub mod promql;
pub mod rules;
pub mod runbook;
pub mod service_env;
pub mod topology;

use std::path::{Path, PathBuf};

/// The workspace root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// A file of the workspace, by its path from the root.
pub fn repo_path(relative: &str) -> PathBuf {
    repo_root().join(relative)
}
