//! `GET /api/openapi.json`: the API described from the code, built from the same declaration as
//! the router ([`super::declared`]).

use std::sync::OnceLock;

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};

use crate::openapi;

/// The document with its examples, as JSON.
pub fn document_value() -> serde_json::Value {
    let mut spec = super::assemble(0, |_, _, handlers| handlers).into_openapi();
    openapi::complete(&mut spec);
    let mut value = serde_json::to_value(spec).unwrap_or_default();
    openapi::examples::insert(&mut value);
    value
}

/// The document, rendered once.
pub fn document() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| serde_json::to_string(&document_value()).unwrap_or_default())
}

#[utoipa::path(get, path = "/api/openapi.json", tag = "meta",
    responses((status = 200, description = "This OpenAPI document", content_type = "application/json", body = Object)))]
pub async fn spec() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        document(),
    )
        .into_response()
}
