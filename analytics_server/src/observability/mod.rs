//! analytics_server's instrumentation set-up: who the service is and its full metric catalogue.

pub mod metrics;

use service_kit::{MetricDef, ServiceInfo, SharedMetrics};

pub const SERVICE: ServiceInfo = ServiceInfo {
    name: "analytics_server",
    prefix: "analytics",
    version: env!("CARGO_PKG_VERSION"),
};

pub fn shared() -> &'static SharedMetrics {
    SharedMetrics::for_prefix(SERVICE.prefix)
}

/// Everything this service exports besides the `process_*` series.
pub fn catalogue() -> Vec<MetricDef> {
    let mut defs = shared().with_http();
    defs.extend_from_slice(metrics::DECLARED);
    defs
}
