//! What a desktop client sends to analytics_server, and the reports it reads back.

use serde_json::{Value, json};

use crate::api::{Api, Reply, User};

/// A client event of `event_type` in session `session`, with a fresh id.
pub fn client_event(event_type: &str, session: &str, properties: Value) -> Value {
    json!({
        "event_id": uuid::Uuid::now_v7().to_string(),
        "event_type": event_type,
        "client_id": "e2e-desktop",
        "session_id": session,
        "occurred_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "app_version": "1.0.0",
        "system": {"os": "linux", "os_version": "6.1", "arch": "x86_64", "locale": "en-GB", "device": "e2e"},
        "properties": properties,
    })
}

/// `POST /api/events` as `user` (anonymous when `None`).
pub async fn post_events(analytics: &Api, user: Option<&User>, events: &[Value]) -> Reply {
    analytics
        .post(
            user.map(|u| u.access_token.as_str()),
            "/api/events",
            json!({"events": events}),
        )
        .await
}

/// `GET /api/reports/{report}` as `user`: its rows (or the whole body for `sessions`).
pub async fn report(analytics: &Api, user: &User, report: &str) -> Reply {
    analytics
        .get(Some(&user.access_token), &format!("/api/reports/{report}"))
        .await
}

/// The sum of `field` over a report's rows that match `filter`.
pub fn total(reply: &Reply, field: &str, filter: impl Fn(&Value) -> bool) -> u64 {
    reply.body["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|row| filter(row))
        .filter_map(|row| row[field].as_u64())
        .sum()
}
