//! The metric catalogue of all four services in one place, for the naming check and for
//! `docs/metrics.md`; and the absolute runbook links of the alert rules and dashboards
//! ([`runbook_links`]).

pub mod env_doc;
pub mod module_cycles;
pub mod runbook_links;

use service_kit::catalogue::{render_markdown, violations};
use service_kit::{MetricDef, ServiceInfo};

/// Each service with its full catalogue (shared metrics included).
pub fn catalogues() -> Vec<(ServiceInfo, Vec<MetricDef>)> {
    vec![
        (
            fechatter_server::observability::SERVICE,
            fechatter_server::observability::catalogue(),
        ),
        (
            notify_server::observability::SERVICE,
            notify_server::observability::catalogue(),
        ),
        (
            bot_server::observability::SERVICE,
            bot_server::observability::catalogue(),
        ),
        (
            analytics_server::observability::SERVICE,
            analytics_server::observability::catalogue(),
        ),
    ]
}

/// Every naming-convention violation across the four catalogues.
pub fn all_violations() -> Vec<String> {
    catalogues()
        .iter()
        .flat_map(|(service, defs)| violations(service.prefix, defs))
        .collect()
}

/// Every declared series name (histograms as their base name).
pub fn declared_names() -> Vec<&'static str> {
    catalogues()
        .into_iter()
        .flat_map(|(_, defs)| defs.into_iter().map(|def| def.name))
        .collect()
}

pub const METRICS_DOC: &str = "docs/metrics.md";

/// The content of `docs/metrics.md`.
pub fn render_metrics_doc() -> String {
    let mut out = String::from(
        "# Metric catalogue\n\n\
         Generated from each service's `src/observability/metrics.rs` by \
         `cargo run -p xtask -- metrics-doc`; do not edit by hand (a test fails when this file is \
         stale). Conventions: `docs/design/metrics.md`. Every service also exports the standard \
         `process_*` series.\n\n",
    );
    for (service, defs) in catalogues() {
        out.push_str(&render_markdown(service.name, &defs));
        out.push('\n');
    }
    out
}

pub const API_DOC: &str = "docs/api.md";

/// The content of `docs/api.md`: fechatter_server's routes by example, from its OpenAPI document.
pub fn render_api_doc() -> String {
    use fechatter_server::openapi::{examples, markdown};
    use fechatter_server::routes::document_value;
    let order: Vec<(&str, &str)> = examples::all()
        .iter()
        .map(|exchange| (exchange.method, exchange.path))
        .collect();
    markdown::render_markdown(&document_value(), &order)
}
