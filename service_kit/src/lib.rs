//! The service kit every Fechatter service is built on: its server, start-up errors, runtime config and
//! the instrumentation they share (see `docs/design/metrics.md` and `docs/design/health.md`).
//!
//! - [`catalogue`]: how a service declares its metrics, the naming rules they must pass, and the
//!   renderer behind `docs/metrics.md`;
//! - [`handles`]: handles of a one-label metric kept by label value, for the hottest series;
//! - [`exporter`]: the Prometheus exporter on the service's own metrics port, with process metrics
//!   and `{service}_build_info`;
//! - [`http`]: the request metrics layer, request ids and request tracing;
//! - [`health`]: `/health`, `/ready` and `/live`;
//! - [`telemetry`]: `tracing` set-up;
//! - [`app`]: a service's wiring, written once: each service supplies its parts ([`ServiceParts`])
//!   and runs as an [`Application`];
//! - [`server`]: serving a service with graceful, draining shutdown;
//! - [`serve`]: the HTTP/1.1 connection loop under it, with a deadline on request headers;
//! - [`supervise`]: the service's background tasks, restarted when they fail.

pub mod app;
pub mod buckets;
pub mod catalogue;
pub mod config;
pub mod exporter;
pub mod handles;
pub mod health;
pub mod http;
pub mod request_span;
pub mod serve;
pub mod server;
pub mod shared;
pub mod stall;
pub mod supervise;
pub mod telemetry;

pub use app::{Application, Drain, ServiceParts, Tasks};
pub use catalogue::{MetricDef, MetricKind, Unit};
pub use config::{Listen, RuntimeConfig};
pub use health::{Health, HealthBuilder};
pub use server::{Service, ServiceServer, StartupError};
pub use shared::SharedMetrics;
pub use supervise::{Restart, Supervisor};

/// Who a service is, for metric names and the `/health` body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceInfo {
    /// The service name, e.g. `fechatter_server`.
    pub name: &'static str,
    /// The metric prefix, e.g. `fechatter`.
    pub prefix: &'static str,
    pub version: &'static str,
}
