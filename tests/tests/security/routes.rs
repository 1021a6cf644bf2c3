//! Every operation of fechatter_server's OpenAPI document (which its own tests keep equal to the
//! router), tried without a token, with a forged one, and by users who must not reach the resource
//! named in the path: never a 2xx, never a 403 that would confirm the resource exists, always the
//! 404 envelope.

use std::collections::BTreeSet;

use e2e::api::{Api, User};
use reqwest::Method;
use serde_json::{Value, json};

/// One operation of the document.
pub struct Operation {
    pub method: String,
    pub path: String,
    /// Whether the document says it needs an access token.
    pub authenticated: bool,
}

/// The operations of `GET /api/openapi.json`.
pub async fn operations(api: &Api) -> Vec<Operation> {
    let document = api.get(None, "/api/openapi.json").await;
    document.expect(200);
    let global = document.body["security"].clone();
    let mut operations = Vec::new();
    for (path, item) in document.body["paths"].as_object().into_iter().flatten() {
        for (method, operation) in item.as_object().into_iter().flatten() {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let security = operation.get("security").unwrap_or(&global);
            let authenticated = security.as_array().is_some_and(|requirements| {
                !requirements.is_empty()
                    && requirements
                        .iter()
                        .all(|r| r.as_object().is_some_and(|r| !r.is_empty()))
            });
            operations.push(Operation {
                method: method.to_uppercase(),
                path: path.clone(),
                authenticated,
            });
        }
    }
    operations
}

/// What the routes are tried on: one real resource of each kind.
pub struct Targets {
    pub chat: i64,
    pub message: i64,
    pub member: i64,
    pub file: i64,
}

/// The request a client would make on `template` for `targets`: the path and a valid body.
fn request(op: &Operation, t: &Targets, caller: i64) -> (String, Option<Value>) {
    let path = if op.path.starts_with("/api/files/") {
        op.path.replace("{id}", &t.file.to_string())
    } else {
        op.path.replace("{id}", &t.chat.to_string())
    }
    .replace("{message_id}", &t.message.to_string())
    .replace("{user_id}", &t.member.to_string())
    .replace("{emoji}", "👍")
    // Webhook ids are looked up inside the chat, whose membership is checked first.
    .replace("{webhook_id}", "1")
    .replace("{token}", "no-such-webhook-token");
    let body = match (op.method.as_str(), op.path.as_str()) {
        ("POST", "/api/chats/{id}/messages") => Some(json!({"content": "hijack"})),
        ("PATCH", "/api/chats/{id}") => Some(json!({"name": "hijacked"})),
        ("PATCH", "/api/chats/{id}/messages/{message_id}") => Some(json!({"content": "hijacked"})),
        ("POST", "/api/chats/{id}/members") => Some(json!({"user_id": caller})),
        ("POST", "/api/chats/{id}/read") => Some(json!({"message_id": t.message})),
        ("POST", "/api/chats/{id}/messages/{message_id}/thread/read") => {
            Some(json!({"message_id": t.message}))
        }
        ("POST", "/api/chats/{id}/webhooks/incoming") => Some(json!({"name": "hijack"})),
        ("POST", "/api/chats/{id}/webhooks/outgoing") => {
            Some(json!({"url": "https://hijack.example.com/"}))
        }
        ("POST", "/api/hooks/{token}") => Some(json!({"content": "hijack"})),
        _ => None,
    };
    (path, body)
}

/// Tries every operation that names a resource in its path as `caller`; how many were tried.
pub async fn outsider_finds_nothing(api: &Api, caller: &User, targets: &Targets) -> usize {
    let mut tried = 0;
    for op in operations(api).await {
        if !op.path.contains('{') {
            continue;
        }
        let (path, body) = request(&op, targets, caller.id);
        let method = Method::from_bytes(op.method.as_bytes()).unwrap_or(Method::GET);
        let reply = api
            .call(method, Some(&caller.access_token), &path, body.as_ref())
            .await;
        assert_eq!(
            (reply.status, reply.body["code"].as_str()),
            (404, Some("not_found")),
            "{} {} {path}: {}",
            caller.handle,
            op.method,
            reply.body
        );
        tried += 1;
    }
    tried
}

/// Every operation the document marks as authenticated refuses `token` (none, or forged) with 401
/// and `WWW-Authenticate`; how many were tried.
pub async fn strangers_are_refused(api: &Api, token: Option<&str>) -> usize {
    let targets = Targets {
        chat: 1,
        message: 1,
        member: 1,
        file: 1,
    };
    let mut tried = 0;
    for op in operations(api).await {
        if !op.authenticated {
            continue;
        }
        let (path, body) = request(&op, &targets, 0);
        let method = Method::from_bytes(op.method.as_bytes()).unwrap_or(Method::GET);
        let reply = api.call(method, token, &path, body.as_ref()).await;
        assert_eq!(reply.status, 401, "{} {path}: {}", op.method, reply.body);
        assert!(
            reply.headers.contains_key("www-authenticate"),
            "{} {path}: no WWW-Authenticate",
            op.method
        );
        tried += 1;
    }
    tried
}

/// The ids in `body.items[*][key]`.
pub fn ids(body: &Value, key: &str) -> BTreeSet<i64> {
    body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item[key].as_i64())
        .collect()
}
