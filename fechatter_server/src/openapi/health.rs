//! `/live`, `/ready` and `/health` (served by the `service_kit` crate, shaped by `docs/design/health.md`),
//! described here so the document covers every route the service answers.

#![allow(dead_code)] // Documentation types: never built, only described.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::openapi::path::{OperationBuilder, PathItemBuilder};
use utoipa::openapi::{ContentBuilder, HttpMethod, OpenApi as Spec, Ref, ResponseBuilder};
use utoipa::{PartialSchema, ToSchema};

/// `GET /live`: the process answers.
#[derive(Serialize, ToSchema)]
pub struct Liveness {
    /// Always `alive`.
    pub status: String,
}

/// `GET /ready`: whether to send traffic now.
#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` or `not_ready`.
    pub status: String,
    /// Why not: `starting`, `draining` or `dependency_down`.
    pub reason: Option<String>,
    /// The critical checks that are down.
    pub failing: Option<Vec<String>>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OverallStatus {
    Healthy,
    Degraded,
    Unhealthy,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Up,
    Down,
}

#[derive(Serialize, ToSchema)]
pub struct CheckResult {
    pub status: CheckStatus,
    pub critical: bool,
    pub latency_ms: f64,
    /// Why the check failed; never names secrets.
    pub error: Option<String>,
}

/// `GET /health`: every dependency, each checked with its own timeout.
#[derive(Serialize, ToSchema)]
pub struct HealthReport {
    pub service: String,
    pub version: String,
    pub status: OverallStatus,
    pub uptime_seconds: f64,
    pub checks: BTreeMap<String, CheckResult>,
}

fn json_response(description: &str, schema: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(schema)))
                .build(),
        )
        .build()
}

fn operation(summary: &str, responses: &[(&str, &str, &str)]) -> PathItemBuilder {
    let mut operation = OperationBuilder::new().summary(Some(summary)).tag("health");
    for (status, description, schema) in responses {
        operation = operation.response(*status, json_response(description, schema));
    }
    PathItemBuilder::new().operation(HttpMethod::Get, operation.build())
}

/// Adds the three endpoints and their schemas.
pub fn document(openapi: &mut Spec) {
    let paths = [
        (
            "/live",
            operation("Liveness", &[("200", "The process answers", "Liveness")]),
        ),
        (
            "/ready",
            operation(
                "Readiness",
                &[
                    ("200", "Ready for traffic", "Readiness"),
                    (
                        "503",
                        "Starting, draining, or a critical dependency is down",
                        "Readiness",
                    ),
                ],
            ),
        ),
        (
            "/health",
            operation(
                "Health of every dependency",
                &[
                    ("200", "Healthy or degraded", "HealthReport"),
                    ("503", "A critical dependency is down", "HealthReport"),
                ],
            ),
        ),
    ];
    for (path, item) in paths {
        openapi.paths.paths.insert(path.to_owned(), item.build());
    }
    let components = openapi.components.get_or_insert_with(Default::default);
    for (name, schema) in [
        ("Liveness", Liveness::schema()),
        ("Readiness", Readiness::schema()),
        ("OverallStatus", OverallStatus::schema()),
        ("CheckStatus", CheckStatus::schema()),
        ("CheckResult", CheckResult::schema()),
        ("HealthReport", HealthReport::schema()),
    ] {
        components.schemas.insert(name.to_owned(), schema);
    }
}
