//! Plain HTTP to the servers on 127.0.0.1.

use std::time::Duration;

/// A fresh client per call: a client keeps pooled connections tied to the tokio runtime that
/// opened them, and every `#[tokio::test]` has its own runtime while shared servers outlive them.
pub(crate) fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .build()
        .unwrap_or_else(|e| panic!("cannot build an HTTP client: {e}"))
}

/// The body of `GET url` when it answers 200 within a second; `None` otherwise (not up yet).
pub(crate) async fn get_ok(url: &str) -> Option<String> {
    let response = client(Duration::from_secs(1)).get(url).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    response.text().await.ok()
}

/// The JSON body of `GET url` when it answers 200 within a second.
pub(crate) async fn get_json(url: &str) -> Option<serde_json::Value> {
    serde_json::from_str(&get_ok(url).await?).ok()
}
