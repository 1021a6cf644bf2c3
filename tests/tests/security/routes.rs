//! Every route of fechatter_server's router, tried by a user of another workspace (and, for a
//! private channel, by a workspace member outside it) against real resources: never a 2xx, never
//! a 403 that would confirm the resource exists, always the 404 envelope.

use std::collections::BTreeSet;

use e2e::api::{Api, User};
use e2e::ops::repo_path;
use reqwest::Method;
use serde_json::{Value, json};

/// `(method, path template)` of every route in `fechatter_server/src/routes.rs`.
pub fn router_routes() -> BTreeSet<(String, String)> {
    let path = repo_path("fechatter_server/src/routes.rs");
    let source = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("reading {}: {err}", path.display()));
    let source = source.split(".fallback(").next().unwrap_or_default();
    let method =
        regex::Regex::new(r"\b(get|post|put|patch|delete)\(").unwrap_or_else(|e| panic!("{e}"));
    let mut routes = BTreeSet::new();
    for chunk in source.split(".route(").skip(1) {
        let template = chunk.split('"').nth(1).unwrap_or_default().to_owned();
        for found in method.captures_iter(chunk) {
            routes.insert((found[1].to_uppercase(), template.clone()));
        }
    }
    routes
}

/// What the routes are tried on: one real resource of each kind.
pub struct Targets {
    pub chat: i64,
    pub message: i64,
    pub member: i64,
}

/// The request a client would make on `template` for `targets`: the path and a valid body.
fn request(method: &str, template: &str, t: &Targets, caller: &User) -> (String, Option<Value>) {
    let path = template
        .replace("{id}", &t.chat.to_string())
        .replace("{message_id}", &t.message.to_string())
        .replace("{user_id}", &t.member.to_string())
        .replace("{emoji}", "👍");
    let body = match (method, template) {
        ("POST", "/api/chats/{id}/messages") => Some(json!({"content": "hijack"})),
        ("PATCH", "/api/chats/{id}") => Some(json!({"name": "hijacked"})),
        ("PATCH", "/api/chats/{id}/messages/{message_id}") => Some(json!({"content": "hijacked"})),
        ("POST", "/api/chats/{id}/members") => Some(json!({"user_id": caller.id})),
        ("POST", "/api/chats/{id}/read") => Some(json!({"message_id": t.message})),
        _ => None,
    };
    (path, body)
}

/// Tries every route that names a resource by id as `caller`; returns how many were tried.
pub async fn outsider_finds_nothing(api: &Api, caller: &User, targets: &Targets) -> usize {
    let mut tried = 0;
    for (method, template) in router_routes() {
        if !template.contains('{') {
            continue;
        }
        let (path, body) = request(&method, &template, targets, caller);
        let method = Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET);
        let reply = api
            .call(
                method.clone(),
                Some(&caller.access_token),
                &path,
                body.as_ref(),
            )
            .await;
        assert_eq!(
            (reply.status, reply.body["code"].as_str()),
            (404, Some("not_found")),
            "{} {method} {path}: {}",
            caller.handle,
            reply.body
        );
        tried += 1;
    }
    tried
}

/// Every route but sign-up, sign-in and refresh refuses a request without a valid token with
/// 401 and `WWW-Authenticate`.
pub async fn strangers_are_refused(api: &Api, token: Option<&str>) -> usize {
    let public = ["/api/signup", "/api/signin", "/api/refresh"];
    let targets = Targets {
        chat: 1,
        message: 1,
        member: 1,
    };
    let nobody = User {
        id: 0,
        workspace_id: 0,
        handle: "nobody".to_owned(),
        email: String::new(),
        access_token: String::new(),
        refresh_token: String::new(),
    };
    let mut tried = 0;
    for (method, template) in router_routes() {
        if public.contains(&template.as_str()) {
            continue;
        }
        let (path, body) = request(&method, &template, &targets, &nobody);
        let method = Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET);
        let reply = api.call(method.clone(), token, &path, body.as_ref()).await;
        assert_eq!(reply.status, 401, "{method} {path}: {}", reply.body);
        assert!(
            reply.headers.contains_key("www-authenticate"),
            "{method} {path}: no WWW-Authenticate"
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
