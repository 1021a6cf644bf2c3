//! One example exchange per route of the document: what a client sends and what it gets back,
//! taken from a real session (Ann signs up, opens `#general`, asks the bot). [`insert`] puts them
//! into the document as OpenAPI `example`s; `docs/api.md` is rendered from the document
//! ([`render_markdown`], `cargo run -p xtask -- api-doc`). Tests keep every route covered and
//! every example valid against its schema in the same document.

use serde_json::{Value, json};

/// A route's example: parameter values by name (path, query and header), the JSON body sent, the
/// status answered and the JSON body received.
pub struct Exchange {
    pub method: &'static str,
    pub path: &'static str,
    pub params: Value,
    pub request: Option<Value>,
    pub status: &'static str,
    pub response: Option<Value>,
}

const ANN_CREATED: &str = "2026-12-03T10:36:43.171605Z";
const GENERAL_CREATED: &str = "2026-12-03T10:36:43.329195Z";

fn ann() -> Value {
    json!({
        "id": 1, "workspace_id": 1, "fullname": "Ann Lee", "handle": "ann",
        "email": "ann@example.com", "is_bot": false, "workspace_role": "owner",
        "created_at": ANN_CREATED
    })
}

/// An Ed25519-signed access token (header `{"typ":"JWT","alg":"EdDSA"}`); the claims and
/// signature are shortened.
const ACCESS_TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJFZERTQSJ9.eyJzdWIiOiIxIiwid3MiOjF9.BwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4_QEFCQ0RFRg";

fn focus_status() -> Value {
    json!({
        "availability": "dnd", "text": "Focusing on the release",
        "expires_at": "2026-12-03T17:00:00Z"
    })
}

fn ann_with_status() -> Value {
    let mut ann = ann();
    ann["status"] = focus_status();
    ann
}

fn tokens() -> Value {
    json!({
        "access_token": ACCESS_TOKEN,
        "refresh_token": "U7VMlZYjmlTWGLxrR9LlwewjHLPNtuEWkvAB4N744ZM",
        "token_type": "Bearer",
        "expires_in": 900,
        "user": ann()
    })
}

fn general(description: &str, updated_at: &str) -> Value {
    json!({
        "id": 1, "workspace_id": 1, "chat_type": "public_channel", "name": "general",
        "description": description, "owner_id": 1, "created_at": GENERAL_CREATED,
        "updated_at": updated_at, "role": "owner", "member_count": 2,
        "last_read_message_id": 3, "unread_count": 2, "mention_count": 0,
        "reply_count": 1, "last_reply_at": "2026-12-03T10:37:40.204418Z", "thread_unread_count": 1
    })
}

fn deploy_message(content: &str, edited_at: Option<&str>, reactions: Value) -> Value {
    json!({
        "id": 1, "chat_id": 1, "sender_id": 1, "content": content, "reply_to": null,
        "thread_root_id": null, "reply_count": 1,
        "last_reply_at": "2026-12-03T10:37:40.204418Z", "integration": null,
        "mentions": [], "reactions": reactions, "files": [],
        "created_at": "2026-12-03T10:36:47.626014Z", "edited_at": edited_at
    })
}

/// Bob's answer in the thread of the deploy message, mentioning Ann.
fn thread_reply() -> Value {
    json!({
        "id": 4, "chat_id": 1, "sender_id": 2, "content": "@ann moved to 18:00, noted",
        "reply_to": 1, "thread_root_id": 1, "reply_count": 0, "last_reply_at": null,
        "integration": null, "mentions": [1], "reactions": [], "files": [],
        "created_at": "2026-12-03T10:37:40.204418Z", "edited_at": null
    })
}

const HOOK_CREATED: &str = "2026-12-03T10:38:00.401177Z";
const HOOK_TOKEN: &str = "Qm9vdHN0cmFwIGEgd2ViaG9vayB0b2tlbiBleGFtcGxl";
const OUTGOING_URL: &str = "https://ci.example.com/fechatter/events";

const DEPLOY: &str = "The deploy is at 17:00; the logs are at https://logs.example.com/app/42";
const DEPLOY_EDITED: &str =
    "The deploy is at 18:00; the logs are at https://logs.example.com/app/42";

/// Every route's example, in the order of `docs/api.md`.
pub fn all() -> Vec<Exchange> {
    vec![
        Exchange {
            method: "post",
            path: "/api/signup",
            params: json!({}),
            request: Some(json!({
                "fullname": "Ann Lee", "email": "ann@example.com",
                "password": "correct horse battery", "workspace": "Acme"
            })),
            status: "201",
            response: Some(tokens()),
        },
        Exchange {
            method: "post",
            path: "/api/signin",
            params: json!({}),
            request: Some(json!({"email": "ann@example.com", "password": "correct horse battery"})),
            status: "200",
            response: Some(tokens()),
        },
        Exchange {
            method: "post",
            path: "/api/refresh",
            params: json!({}),
            request: Some(json!({"refresh_token": "U7VMlZYjmlTWGLxrR9LlwewjHLPNtuEWkvAB4N744ZM"})),
            status: "200",
            response: Some(tokens()),
        },
        Exchange {
            method: "post",
            path: "/api/signout",
            params: json!({}),
            request: None,
            status: "204",
            response: None,
        },
        Exchange {
            method: "post",
            path: "/api/bots/token",
            params: json!({}),
            request: Some(json!({"workspace_id": 1})),
            status: "200",
            response: Some(json!({
                "access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 900,
                "user_id": 2
            })),
        },
        Exchange {
            method: "post",
            path: "/api/bots/provision",
            params: json!({}),
            request: Some(json!({"workspace_id": 1})),
            status: "200",
            response: Some(json!({"user_id": 2})),
        },
        Exchange {
            method: "post",
            path: "/api/workspace/invites",
            params: json!({}),
            request: Some(json!({"max_uses": 5})),
            status: "201",
            response: Some(json!({
                "code": "kRxxPNLf5if20fTGk1i21g", "workspace_id": 1, "max_uses": 5,
                "expires_at": "2026-12-10T10:37:22.490497Z"
            })),
        },
        Exchange {
            method: "get",
            path: "/api/users/me",
            params: json!({}),
            request: None,
            status: "200",
            response: Some({
                let mut me = ann();
                me["workspace_name"] = json!("Acme");
                me["status"] = focus_status();
                me
            }),
        },
        Exchange {
            method: "delete",
            path: "/api/users/me",
            params: json!({}),
            request: None,
            status: "204",
            response: None,
        },
        Exchange {
            method: "put",
            path: "/api/users/me/status",
            params: json!({}),
            request: Some(json!({
                "availability": "dnd", "text": "Focusing on the release",
                "expires_at": "2026-12-03T17:00:00Z"
            })),
            status: "200",
            response: Some(focus_status()),
        },
        Exchange {
            method: "delete",
            path: "/api/users/me/status",
            params: json!({}),
            request: None,
            status: "204",
            response: None,
        },
        Exchange {
            method: "get",
            path: "/api/users",
            params: json!({"limit": 2}),
            request: None,
            status: "200",
            response: Some(json!({
                "items": [
                    {"id": 2, "workspace_id": 1, "fullname": "Assistant", "handle": "bot",
                     "email": null, "is_bot": true, "workspace_role": "member",
                     "created_at": ANN_CREATED, "status": null},
                    ann_with_status()
                ],
                "next_before": null, "has_more": false
            })),
        },
        Exchange {
            method: "get",
            path: "/api/chats",
            params: json!({"limit": 20}),
            request: None,
            status: "200",
            response: Some(json!({
                "items": [general("Everyone", GENERAL_CREATED)],
                "next_before": null, "has_more": false
            })),
        },
        Exchange {
            method: "post",
            path: "/api/chats",
            params: json!({}),
            request: Some(json!({
                "chat_type": "public_channel", "name": "general", "description": "Everyone"
            })),
            status: "201",
            response: Some(json!({
                "id": 1, "workspace_id": 1, "chat_type": "public_channel", "name": "general",
                "description": "Everyone", "owner_id": 1, "created_at": GENERAL_CREATED,
                "updated_at": GENERAL_CREATED, "role": "owner", "member_count": 1,
                "last_read_message_id": null, "unread_count": 0, "mention_count": 0,
                "reply_count": 0, "last_reply_at": null, "thread_unread_count": 0
            })),
        },
        Exchange {
            method: "get",
            path: "/api/chats/public",
            params: json!({}),
            request: None,
            status: "200",
            response: Some(json!({
                "items": [{
                    "id": 1, "name": "general", "description": "Everyone", "owner_id": 1,
                    "created_at": GENERAL_CREATED, "member_count": 2, "joined": true
                }],
                "next_before": null, "has_more": false
            })),
        },
        Exchange {
            method: "get",
            path: "/api/chats/{id}",
            params: json!({"id": 1}),
            request: None,
            status: "200",
            response: Some(general("Everyone", GENERAL_CREATED)),
        },
        Exchange {
            method: "patch",
            path: "/api/chats/{id}",
            params: json!({"id": 1}),
            request: Some(json!({"description": "Company-wide announcements"})),
            status: "200",
            response: Some(general(
                "Company-wide announcements",
                "2026-12-03T10:37:22.683080Z",
            )),
        },
        Exchange {
            method: "delete",
            path: "/api/chats/{id}",
            params: json!({"id": 1}),
            request: None,
            status: "204",
            response: None,
        },
        Exchange {
            method: "get",
            path: "/api/chats/{id}/members",
            params: json!({"id": 1}),
            request: None,
            status: "200",
            response: Some(json!({
                "items": [
                    {"user_id": 2, "fullname": "Assistant", "handle": "bot", "is_bot": true,
                     "role": "member", "joined_at": "2026-12-03T10:36:47.678200Z"},
                    {"user_id": 1, "fullname": "Ann Lee", "handle": "ann", "is_bot": false,
                     "role": "owner", "joined_at": GENERAL_CREATED}
                ],
                "next_before": null, "has_more": false
            })),
        },
        Exchange {
            method: "post",
            path: "/api/chats/{id}/members",
            params: json!({"id": 1}),
            request: Some(json!({"user_id": 3, "role": "member"})),
            status: "201",
            response: Some(json!({
                "user_id": 3, "fullname": "Bob Stone", "handle": "bob", "is_bot": false,
                "role": "member", "joined_at": "2026-12-03T10:38:02.112233Z"
            })),
        },
        Exchange {
            method: "delete",
            path: "/api/chats/{id}/members/{user_id}",
            params: json!({"id": 1, "user_id": 3}),
            request: None,
            status: "204",
            response: None,
        },
        Exchange {
            method: "get",
            path: "/api/chats/{id}/messages",
            params: json!({"id": 1, "limit": 1, "before": 2}),
            request: None,
            status: "200",
            response: Some(json!({
                "items": [deploy_message(
                    DEPLOY_EDITED,
                    Some("2026-12-03T10:37:22.768221Z"),
                    json!([{"emoji": "👍", "count": 1, "me": true}]),
                )],
                "next_before": null, "has_more": false
            })),
        },
        Exchange {
            method: "post",
            path: "/api/chats/{id}/messages",
            params: json!({"id": 1, "Idempotency-Key": "3f1c9a52-send-1"}),
            request: Some(json!({"content": DEPLOY})),
            status: "201",
            response: Some(deploy_message(DEPLOY, None, json!([]))),
        },
        Exchange {
            method: "patch",
            path: "/api/chats/{id}/messages/{message_id}",
            params: json!({"id": 1, "message_id": 1}),
            request: Some(json!({"content": DEPLOY_EDITED})),
            status: "200",
            response: Some(deploy_message(
                DEPLOY_EDITED,
                Some("2026-12-03T10:37:22.768221Z"),
                json!([]),
            )),
        },
        Exchange {
            method: "delete",
            path: "/api/chats/{id}/messages/{message_id}",
            params: json!({"id": 1, "message_id": 1}),
            request: None,
            status: "204",
            response: None,
        },
        Exchange {
            method: "get",
            path: "/api/chats/{id}/messages/{message_id}/history",
            params: json!({"id": 1, "message_id": 1, "limit": 20}),
            request: None,
            status: "200",
            response: Some(json!({
                "items": [{
                    "id": 1, "content": DEPLOY,
                    "written_at": "2026-12-03T10:36:47.626014Z",
                    "replaced_at": "2026-12-03T10:37:22.768221Z"
                }],
                "next_before": null, "has_more": false
            })),
        },
        Exchange {
            method: "put",
            path: "/api/chats/{id}/messages/{message_id}/reactions/{emoji}",
            params: json!({"id": 1, "message_id": 1, "emoji": "👍"}),
            request: None,
            status: "204",
            response: None,
        },
        Exchange {
            method: "delete",
            path: "/api/chats/{id}/messages/{message_id}/reactions/{emoji}",
            params: json!({"id": 1, "message_id": 1, "emoji": "👍"}),
            request: None,
            status: "204",
            response: None,
        },
        Exchange {
            method: "put",
            path: "/api/chats/{id}/messages/{message_id}/pin",
            params: json!({"id": 1, "message_id": 1}),
            request: None,
            status: "204",
            response: None,
        },
        Exchange {
            method: "delete",
            path: "/api/chats/{id}/messages/{message_id}/pin",
            params: json!({"id": 1, "message_id": 1}),
            request: None,
            status: "204",
            response: None,
        },
        Exchange {
            method: "get",
            path: "/api/chats/{id}/pins",
            params: json!({"id": 1}),
            request: None,
            status: "200",
            response: Some(json!({
                "items": [{
                    "message": deploy_message(
                        DEPLOY_EDITED,
                        Some("2026-12-03T10:37:22.768221Z"),
                        json!([{"emoji": "👍", "count": 1, "me": true}]),
                    ),
                    "pinned_by": 1,
                    "pinned_at": "2026-12-03T10:37:30.112408Z"
                }]
            })),
        },
        Exchange {
            method: "get",
            path: "/api/chats/{id}/messages/{message_id}/thread",
            params: json!({"id": 1, "message_id": 1, "limit": 20}),
            request: None,
            status: "200",
            response: Some(json!({
                "chat_id": 1, "root_id": 1,
                "root": deploy_message(DEPLOY_EDITED, Some("2026-12-03T10:37:22.768221Z"), json!([])),
                "reply_count": 1, "last_reply_at": "2026-12-03T10:37:40.204418Z",
                "following": true, "unread_count": 1,
                "items": [thread_reply()],
                "next_before": null, "has_more": false
            })),
        },
        Exchange {
            method: "post",
            path: "/api/chats/{id}/messages/{message_id}/thread/read",
            params: json!({"id": 1, "message_id": 1}),
            request: Some(json!({"message_id": 4})),
            status: "200",
            response: Some(json!({
                "chat_id": 1, "root_id": 1, "last_read_reply_id": 4, "unread_count": 0
            })),
        },
        Exchange {
            method: "get",
            path: "/api/threads",
            params: json!({"limit": 20}),
            request: None,
            status: "200",
            response: Some(json!({
                "items": [{
                    "chat_id": 1, "root_id": 1,
                    "root": deploy_message(DEPLOY_EDITED, Some("2026-12-03T10:37:22.768221Z"), json!([])),
                    "reply_count": 1, "last_reply_id": 4,
                    "last_reply_at": "2026-12-03T10:37:40.204418Z",
                    "last_read_reply_id": null, "unread_count": 1
                }],
                "next_before": null, "has_more": false
            })),
        },
        Exchange {
            method: "post",
            path: "/api/chats/{id}/webhooks/incoming",
            params: json!({"id": 1}),
            request: Some(json!({"name": "CI"})),
            status: "201",
            response: Some(json!({
                "id": 1, "chat_id": 1, "name": "CI", "created_by": 1, "created_at": HOOK_CREATED,
                "token": HOOK_TOKEN, "path": format!("/api/hooks/{HOOK_TOKEN}")
            })),
        },
        Exchange {
            method: "get",
            path: "/api/chats/{id}/webhooks/incoming",
            params: json!({"id": 1}),
            request: None,
            status: "200",
            response: Some(json!({"items": [{
                "id": 1, "chat_id": 1, "name": "CI", "created_by": 1, "created_at": HOOK_CREATED
            }]})),
        },
        Exchange {
            method: "delete",
            path: "/api/chats/{id}/webhooks/incoming/{webhook_id}",
            params: json!({"id": 1, "webhook_id": 1}),
            request: None,
            status: "204",
            response: None,
        },
        Exchange {
            method: "post",
            path: "/api/hooks/{token}",
            params: json!({"token": HOOK_TOKEN}),
            request: Some(json!({"content": "Build 512 passed on main"})),
            status: "201",
            response: Some(json!({"chat_id": 1, "message_id": 5})),
        },
        Exchange {
            method: "post",
            path: "/api/chats/{id}/webhooks/outgoing",
            params: json!({"id": 1}),
            request: Some(json!({"url": OUTGOING_URL})),
            status: "201",
            response: Some(json!({
                "id": 1, "chat_id": 1, "url": OUTGOING_URL, "created_by": 1,
                "created_at": HOOK_CREATED, "secret": "vQy1m0h3rQk9u6kC0bJ0sWnYp0hXn6kM1r0i7QvL2aE"
            })),
        },
        Exchange {
            method: "get",
            path: "/api/chats/{id}/webhooks/outgoing",
            params: json!({"id": 1}),
            request: None,
            status: "200",
            response: Some(json!({"items": [{
                "id": 1, "chat_id": 1, "url": OUTGOING_URL, "created_by": 1,
                "created_at": HOOK_CREATED
            }]})),
        },
        Exchange {
            method: "delete",
            path: "/api/chats/{id}/webhooks/outgoing/{webhook_id}",
            params: json!({"id": 1, "webhook_id": 1}),
            request: None,
            status: "204",
            response: None,
        },
        Exchange {
            method: "get",
            path: "/api/chats/{id}/webhooks/outgoing/{webhook_id}/deliveries",
            params: json!({"id": 1, "webhook_id": 1, "limit": 20}),
            request: None,
            status: "200",
            response: Some(json!({
                "items": [{
                    "id": 2, "event_id": "01938a1c-6c1e-7c52-9a7e-3f1d2b4c5d6e",
                    "event_kind": "message.created", "status": "pending", "attempts": 1,
                    "last_status": 503, "last_error": "the receiver answered 503",
                    "created_at": "2026-12-03T10:38:10.512003Z",
                    "next_attempt_at": "2026-12-03T10:38:11.530117Z", "finished_at": null
                }, {
                    "id": 1, "event_id": "01938a1c-5b2a-7d11-8c3e-1a2b3c4d5e6f",
                    "event_kind": "message.created", "status": "delivered", "attempts": 1,
                    "last_status": 200, "last_error": null,
                    "created_at": "2026-12-03T10:38:02.104882Z", "next_attempt_at": null,
                    "finished_at": "2026-12-03T10:38:02.163540Z"
                }],
                "next_before": null, "has_more": false
            })),
        },
        Exchange {
            method: "post",
            path: "/api/chats/{id}/read",
            params: json!({"id": 1}),
            request: Some(json!({"message_id": 3})),
            status: "200",
            response: Some(json!({"chat_id": 1, "last_read_message_id": 3})),
        },
        Exchange {
            method: "post",
            path: "/api/chats/{id}/typing",
            params: json!({"id": 1}),
            request: None,
            status: "200",
            response: Some(json!({"published": true})),
        },
        Exchange {
            method: "post",
            path: "/api/files",
            params: json!({}),
            request: None,
            status: "201",
            response: Some(json!({
                "id": 1, "uploader_id": 1, "filename": "notes.txt", "content_type": "text/plain",
                "size_bytes": 6,
                "sha256": "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03",
                "created_at": "2026-12-03T10:37:22.633232Z"
            })),
        },
        Exchange {
            method: "get",
            path: "/api/files/{id}",
            params: json!({"id": 1}),
            request: None,
            status: "200",
            response: None,
        },
        Exchange {
            method: "get",
            path: "/api/search",
            params: json!({"q": "deplo", "limit": 1}),
            request: None,
            status: "200",
            response: Some(json!({
                "items": [{
                    "message_id": 1, "chat_id": 1, "sender_id": 1, "content": DEPLOY,
                    "snippet": "The <mark>deploy</mark> is at 17:00; the logs are at https://logs.example.com/app/42",
                    "score": 0.09090909, "created_at": "2026-12-03T10:36:47.626014Z",
                    "edited_at": null
                }],
                "next_before": "0.09090909:1", "has_more": true
            })),
        },
        Exchange {
            method: "get",
            path: "/api/ws",
            params: json!({"access_token": ACCESS_TOKEN}),
            request: None,
            status: "101",
            response: None,
        },
        Exchange {
            method: "get",
            path: "/api/openapi.json",
            params: json!({}),
            request: None,
            status: "200",
            response: None,
        },
        Exchange {
            method: "get",
            path: "/live",
            params: json!({}),
            request: None,
            status: "200",
            response: Some(json!({"status": "alive"})),
        },
        Exchange {
            method: "get",
            path: "/ready",
            params: json!({}),
            request: None,
            status: "200",
            response: Some(json!({"status": "ready"})),
        },
        Exchange {
            method: "get",
            path: "/health",
            params: json!({}),
            request: None,
            status: "200",
            response: Some(json!({
                "service": "fechatter_server", "version": "0.1.0", "status": "healthy",
                "uptime_seconds": 44.7,
                "checks": {
                    "nats": {"status": "up", "critical": false, "latency_ms": 0.9},
                    "postgres": {"status": "up", "critical": true, "latency_ms": 1.5}
                }
            })),
        },
    ]
}

/// Puts every exchange into `spec`: parameter, request body and response `example`s.
pub fn insert(spec: &mut Value) {
    for exchange in all() {
        let Some(operation) = spec.pointer_mut(&format!(
            "/paths/{}/{}",
            pointer_escape(exchange.path),
            exchange.method
        )) else {
            continue;
        };
        if let (Some(values), Some(parameters)) = (
            exchange.params.as_object(),
            operation
                .get_mut("parameters")
                .and_then(Value::as_array_mut),
        ) {
            for parameter in parameters {
                let name = parameter["name"].as_str().unwrap_or_default().to_owned();
                if let Some(value) = values.get(&name) {
                    parameter["example"] = value.clone();
                }
            }
        }
        if let (Some(request), Some(media)) = (
            exchange.request,
            operation.pointer_mut("/requestBody/content/application~1json"),
        ) {
            media["example"] = request;
        }
        let response = format!("/responses/{}/content/application~1json", exchange.status);
        if let (Some(body), Some(media)) = (exchange.response, operation.pointer_mut(&response)) {
            media["example"] = body;
        }
    }
}

/// A path as one JSON-pointer token.
pub fn pointer_escape(path: &str) -> String {
    path.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

    /// Every operation of the document as (method, path, operation).
    fn operations(spec: &Value) -> Vec<(String, String, Value)> {
        let mut found = Vec::new();
        for (path, item) in spec["paths"].as_object().into_iter().flatten() {
            for method in METHODS {
                if let Some(operation) = item.get(method) {
                    found.push((method.to_owned(), path.clone(), operation.clone()));
                }
            }
        }
        found
    }

    /// Whether `example` is valid against `schema`, whose references point into `spec`'s
    /// components; the validator's complaints otherwise.
    fn conforms(spec: &Value, schema: &Value, example: &Value) -> Result<(), Vec<String>> {
        let rooted = json!({"components": spec["components"], "allOf": [schema]});
        let validator = jsonschema::validator_for(&rooted)
            .unwrap_or_else(|err| panic!("not a schema: {err}\n{schema}"));
        let errors: Vec<String> = validator
            .iter_errors(example)
            .map(|err| format!("{} at {}", err, err.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    #[test]
    fn every_route_of_the_document_has_an_example_request_and_response() {
        let spec = crate::routes::document_value();
        let exchanges = all();
        let mut missing = Vec::new();
        for (method, path, operation) in operations(&spec) {
            let place = format!("{} {path}", method.to_ascii_uppercase());
            let Some(exchange) = exchanges
                .iter()
                .find(|e| e.method == method && e.path == path)
            else {
                missing.push(format!("{place}: no exchange in examples.rs"));
                continue;
            };
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let wanted = parameter["required"] == json!(true);
                if wanted && parameter.get("example").is_none() {
                    missing.push(format!(
                        "{place}: parameter {} has no example",
                        parameter["name"]
                    ));
                }
            }
            if operation
                .pointer("/requestBody/content/application~1json")
                .is_some_and(|media| media.get("example").is_none())
            {
                missing.push(format!("{place}: the JSON request body has no example"));
            }
            match operation["responses"].get(exchange.status) {
                None => missing.push(format!("{place}: no {} response", exchange.status)),
                Some(response) => {
                    let json_body = response.pointer("/content/application~1json");
                    // The document itself is the one JSON answer without a schema worth showing.
                    let shown = path != "/api/openapi.json";
                    if shown && json_body.is_some_and(|media| media.get("example").is_none()) {
                        missing.push(format!(
                            "{place}: the {} body has no example",
                            exchange.status
                        ));
                    }
                }
            }
        }
        for exchange in &exchanges {
            let method = exchange.method;
            if spec
                .pointer(&format!(
                    "/paths/{}/{method}",
                    pointer_escape(exchange.path)
                ))
                .is_none()
            {
                missing.push(format!(
                    "{method} {}: an example of no route",
                    exchange.path
                ));
            }
        }
        assert!(missing.is_empty(), "{}", missing.join("\n"));
    }

    #[test]
    fn every_example_is_valid_against_its_schema_in_the_document() {
        let spec = crate::routes::document_value();
        let mut invalid = Vec::new();
        let mut checked = 0;
        for (method, path, operation) in operations(&spec) {
            let place = format!("{} {path}", method.to_ascii_uppercase());
            let mut examples: Vec<(String, &Value, &Value)> = Vec::new();
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                if let Some(example) = parameter.get("example") {
                    examples.push((
                        format!("parameter {}", parameter["name"]),
                        &parameter["schema"],
                        example,
                    ));
                }
            }
            if let Some(media) = operation.pointer("/requestBody/content/application~1json")
                && let Some(example) = media.get("example")
            {
                examples.push(("request body".to_owned(), &media["schema"], example));
            }
            for (status, response) in operation["responses"].as_object().into_iter().flatten() {
                if let Some(media) = response.pointer("/content/application~1json")
                    && let Some(example) = media.get("example")
                {
                    examples.push((format!("{status} body"), &media["schema"], example));
                }
            }
            for (what, schema, example) in examples {
                checked += 1;
                if let Err(errors) = conforms(&spec, schema, example) {
                    invalid.push(format!("{place} {what}: {}", errors.join("; ")));
                }
            }
        }
        assert!(checked > 60, "only {checked} examples were checked");
        assert!(invalid.is_empty(), "{}", invalid.join("\n"));
    }

    #[test]
    fn a_search_hit_shaped_as_a_nested_message_does_not_pass_as_the_api_s() {
        // The shape docs/search.md once described: the check must tell it from the real one.
        let spec = crate::routes::document_value();
        let schema = json!({"$ref": "#/components/schemas/SearchHit"});
        let nested = json!({
            "message": {"id": 1, "chat_id": 1, "content": DEPLOY},
            "score": 0.09, "snippet": "The <mark>deploy</mark> is at 17:00"
        });
        assert!(conforms(&spec, &schema, &nested).is_err());
        let search = spec
            .pointer(
                "/paths/~1api~1search/get/responses/200/content/application~1json/example/items/0",
            )
            .cloned()
            .unwrap_or_default();
        assert_eq!(conforms(&spec, &schema, &search), Ok(()));
    }

    #[test]
    fn the_example_response_of_docs_search_md_is_a_search_page_of_the_document() {
        let spec = crate::routes::document_value();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/search.md");
        let text = std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{path}: {err}"));
        let blocks: Vec<Value> = text
            .split("```json\n")
            .skip(1)
            .filter_map(|rest| rest.split_once("```").map(|(block, _)| block))
            .map(|block| serde_json::from_str(block).unwrap_or_else(|err| panic!("{err}: {block}")))
            .collect();
        assert!(!blocks.is_empty(), "{path} shows no JSON response");
        let schema = json!({"$ref": "#/components/schemas/SearchPage"});
        for block in &blocks {
            assert_eq!(conforms(&spec, &schema, block), Ok(()), "{block}");
        }
    }
}
