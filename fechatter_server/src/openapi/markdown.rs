//! `docs/api.md`: every operation of the OpenAPI document with its example request and response
//! ([`super::examples`]).

use serde_json::{Map, Value};

/// The request line of an operation's example: method, path with its parameters filled in, query.
fn request_line(method: &str, path: &str, operation: &Value) -> String {
    let mut concrete = path.to_owned();
    let mut query = Vec::new();
    let mut headers = Vec::new();
    for parameter in operation["parameters"].as_array().into_iter().flatten() {
        let (Some(name), Some(example)) = (parameter["name"].as_str(), parameter.get("example"))
        else {
            continue;
        };
        let value = example
            .as_str()
            .map_or_else(|| example.to_string(), str::to_owned);
        match parameter["in"].as_str() {
            Some("path") => concrete = concrete.replace(&format!("{{{name}}}"), &value),
            Some("query") => query.push(format!("{name}={value}")),
            Some("header") => headers.push(format!("{name}: {value}")),
            _ => {}
        }
    }
    let mut line = format!("{} {concrete}", method.to_ascii_uppercase());
    if !query.is_empty() {
        line.push('?');
        line.push_str(&query.join("&"));
    }
    for header in headers {
        line.push('\n');
        line.push_str(&header);
    }
    line
}

/// Every operation of `spec` as (method, path): those of `first` in its order, then the rest.
fn in_order(spec: &Value, first: &[(&str, &str)]) -> Vec<(String, String)> {
    let empty = Map::new();
    let mut all: Vec<(String, String)> = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap_or(&empty) {
        for method in HTTP_METHODS {
            if item.get(method).is_some() {
                all.push((method.to_owned(), path.clone()));
            }
        }
    }
    let rank = |(method, path): &(String, String)| {
        first
            .iter()
            .position(|(m, p)| m == method && p == path)
            .unwrap_or(first.len())
    };
    all.sort_by_key(rank);
    all
}

/// The success response the example shows: the one with an example body, else the first.
fn success(operation: &Value) -> Option<(&String, &Value)> {
    let responses = operation["responses"].as_object()?;
    let successes = || {
        responses
            .iter()
            .filter(|(status, _)| status.starts_with('1') || status.starts_with('2'))
    };
    successes()
        .find(|(_, response)| {
            response
                .pointer("/content/application~1json/example")
                .is_some()
        })
        .or_else(|| successes().next())
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

const HTTP_METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// `docs/api.md`: every operation of `spec` with its example request and response.
/// `first` orders the operations it names (a reader's path through the API); the others follow
/// in the document's order.
pub fn render_markdown(spec: &Value, first: &[(&str, &str)]) -> String {
    let mut out = String::from(
        "# The chat API by example\n\n\
         Generated from fechatter_server's OpenAPI document (`GET /api/openapi.json`, examples in \
         `fechatter_server/src/openapi/examples.rs`) by `cargo run -p xtask -- api-doc`; do not \
         edit by hand (a test fails when this file is stale, and another when an example does not \
         match its schema). Conventions (auth, errors, pagination): `docs/design/api.md`. \
         Routes marked 🔒 need `Authorization: Bearer <access_token>`; every error answers \
         `{\"code\": \"…\", \"message\": \"…\"}`.\n",
    );
    for (method, path) in in_order(spec, first) {
        {
            let Some(operation) = spec["paths"][&path].get(&method) else {
                continue;
            };
            let locked = operation["security"]
                .as_array()
                .is_some_and(|s| !s.is_empty());
            out.push_str(&format!(
                "\n## {} {path}{}\n\n",
                method.to_ascii_uppercase(),
                if locked { " 🔒" } else { "" }
            ));
            let about = operation["summary"]
                .as_str()
                .or(operation["description"].as_str())
                .unwrap_or_default();
            if !about.is_empty() {
                out.push_str(about.trim());
                out.push_str("\n\n");
            }
            out.push_str("```http\n");
            out.push_str(&request_line(&method, &path, operation));
            out.push('\n');
            if let Some(body) = operation.pointer("/requestBody/content/application~1json/example")
            {
                out.push_str("Content-Type: application/json\n\n");
                out.push_str(&pretty(body));
                out.push('\n');
            } else if operation
                .pointer("/requestBody/content/multipart~1form-data")
                .is_some()
            {
                out.push_str("Content-Type: multipart/form-data (one part named `file`)\n");
            }
            out.push_str("```\n\n");
            let Some((status, response)) = success(operation) else {
                continue;
            };
            let description = response["description"].as_str().unwrap_or_default();
            out.push_str(&format!("→ `{status}` {description}\n"));
            if let Some(body) = response.pointer("/content/application~1json/example") {
                out.push_str("\n```json\n");
                out.push_str(&pretty(body));
                out.push_str("\n```\n");
            }
        }
    }
    out
}
