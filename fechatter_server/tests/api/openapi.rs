//! The OpenAPI document: served, and in step with the router.

use std::collections::BTreeSet;

use axum::body::Body;
use fechatter_events::EventBus;
use fechatter_server::AppState;
use http::{Method, Request};
use serde_json::Value;
use test_support::unique_name;
use tower::ServiceExt;

use crate::common::{TestApp, config};

const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

/// The route templates registered in the router, read from the router's own description of its
/// routing table.
fn registered_paths(router: &axum::Router) -> BTreeSet<String> {
    // The table prints as `paths: {RouteId(1): "/api/signup", …}`.
    let debug = format!("{router:?}");
    debug
        .split("RouteId(")
        .skip(1)
        .filter_map(|entry| entry.split_once("): \"").map(|(_, rest)| rest))
        .filter_map(|rest| rest.split_once('"').map(|(path, _)| path.to_owned()))
        .collect()
}

/// A concrete path for a template: every `{param}` becomes `1`.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "1"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether the router has a handler for `method` on `path` (rather than its 405 or 404 fallback).
async fn serves(router: &axum::Router, method: &Method, path: &str) -> bool {
    let request = Request::builder()
        .method(method.clone())
        .uri(path)
        .body(Body::empty())
        .unwrap_or_else(|err| panic!("{err}"));
    let response = router
        .clone()
        .oneshot(request)
        .await
        .unwrap_or_else(|never| match never {});
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let json = serde_json::from_slice::<Value>(&body).unwrap_or_default();
    // No handler answers 405 itself: it is the router's (the API's in the envelope, the health
    // router's bare).
    let method_fallback = status == 405;
    let route_fallback = status == 404
        && json["message"]
            .as_str()
            .is_some_and(|message| message.starts_with("no route for"));
    !(method_fallback || route_fallback)
}

#[tokio::test]
async fn every_route_the_router_serves_is_in_the_spec_with_its_methods_and_the_reverse() {
    // Nothing here reaches Postgres or NATS: requests carry no token.
    let files = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
    let bus = EventBus::isolated(&unique_name("spec"));
    let config = config(
        "postgres://nobody@127.0.0.1:1/none",
        "nats://127.0.0.1:1",
        &bus,
        &[("FILES_DIR", files.path().display().to_string())],
    );
    let state = AppState::try_new(config)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    // The API and the health endpoints beside it, as the service serves them.
    let health = fechatter_server::startup::health(&state).router();
    let router = fechatter_server::routes::router(state).merge(health);
    let spec: Value = serde_json::from_str(fechatter_server::routes::document())
        .unwrap_or_else(|err| panic!("the document is not JSON: {err}"));
    let documented: BTreeSet<(String, String)> = spec["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(path, item)| {
            item.as_object()
                .into_iter()
                .flatten()
                .filter(|(key, _)| METHODS.iter().any(|m| m.as_str().eq_ignore_ascii_case(key)))
                .map(|(method, _)| (path.clone(), method.to_ascii_uppercase()))
                .collect::<Vec<_>>()
        })
        .collect();

    let paths = registered_paths(&router);
    assert!(paths.len() >= 20, "routing table: {paths:?}");
    let mut served = BTreeSet::new();
    for path in &paths {
        for method in &METHODS {
            if serves(&router, method, &concrete(path)).await {
                served.insert((path.clone(), method.as_str().to_owned()));
            }
        }
    }
    let undocumented: Vec<_> = served.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "served but not in the spec: {undocumented:?}"
    );
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        unserved.is_empty(),
        "in the spec but not served: {unserved:?}"
    );
    // The probe does tell the two apart.
    assert!(!serves(&router, &Method::PUT, "/api/chats").await);
    assert!(!serves(&router, &Method::GET, "/api/nowhere").await);
}

#[tokio::test]
async fn the_spec_is_served_with_the_error_envelope_the_bearer_scheme_and_every_error_status() {
    let app = TestApp::spawn().await;
    let reply = app.get(None, "/api/openapi.json").await;
    reply.expect(200);
    let spec = reply.body;
    assert!(
        spec["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3."))
    );
    assert_eq!(
        spec["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let error = &spec["components"]["schemas"]["ErrorBody"];
    assert_eq!(error["required"], serde_json::json!(["code", "message"]));

    let paths = spec["paths"].as_object().cloned().unwrap_or_default();
    // The health endpoints answer in the shapes of docs/design/health.md; the API in the error envelope.
    assert!(paths.contains_key("/ready") && paths.contains_key("/health"));
    for (path, item) in paths.iter().filter(|(path, _)| path.starts_with("/api/")) {
        for (method, operation) in item.as_object().into_iter().flatten() {
            let place = format!("{method} {path}");
            let responses = operation["responses"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            let secured = operation["security"]
                .as_array()
                .is_some_and(|s| !s.is_empty());
            if secured {
                assert!(responses.contains_key("401"), "{place} has no 401");
            }
            if path != "/api/openapi.json" {
                for status in ["500", "503"] {
                    assert!(responses.contains_key(status), "{place} has no {status}");
                }
            }
            if operation.get("requestBody").is_some() {
                for status in ["400", "413", "415"] {
                    assert!(responses.contains_key(status), "{place} has no {status}");
                }
            }
            for (status, response) in &responses {
                if status.starts_with('4') || status.starts_with('5') {
                    let schema = &response["content"]["application/json"]["schema"]["$ref"];
                    assert_eq!(
                        schema, "#/components/schemas/ErrorBody",
                        "{place} {status} is not the error envelope"
                    );
                }
            }
        }
    }
    for limited in ["/api/signup", "/api/signin", "/api/refresh", "/api/files"] {
        assert!(
            paths[limited]["post"]["responses"]["429"]["headers"]["Retry-After"].is_object(),
            "{limited} documents no 429 with Retry-After"
        );
    }
}
