//! The web client beside the API: its files and client routes served from `FECHATTER_WEB_DIR`,
//! the API's routing and JSON 404 unchanged under `/api`, and typing signals over HTTP for a
//! client that listens on SSE.

use fechatter_events::EphemeralKind;
use fechatter_events::payload::Typing;
use futures::StreamExt;
use reqwest::Method;
use serde_json::json;

use crate::common::{AppOptions, TestApp, WAIT};

const INDEX: &str = "<!doctype html><title>Fechatter</title><div id=app></div>";

fn built_client() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
    std::fs::create_dir(dir.path().join("assets")).unwrap_or_else(|err| panic!("{err}"));
    std::fs::write(dir.path().join("index.html"), INDEX).unwrap_or_else(|err| panic!("{err}"));
    std::fs::write(dir.path().join("assets/index-abc123.js"), "console.log(1)")
        .unwrap_or_else(|err| panic!("{err}"));
    dir
}

#[tokio::test]
async fn the_client_is_served_outside_api_and_api_paths_keep_their_json_404() {
    let client = built_client();
    let app = TestApp::spawn_with(AppOptions {
        env: vec![
            ("WEB_DIR", client.path().display().to_string()),
            ("WEB_NOTIFY_URL", "https://live.example.com/".to_owned()),
        ],
        ..AppOptions::default()
    })
    .await;
    let app = &app;
    let get = |path: &'static str| async move {
        let response = app
            .client
            .get(app.url(path))
            .send()
            .await
            .unwrap_or_else(|err| panic!("{path}: {err}"));
        let status = response.status().as_u16();
        let cache = response
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (status, cache, response.text().await.unwrap_or_default())
    };

    for page in ["/", "/chats/12", "/search"] {
        let (status, cache, body) = get(page).await;
        assert_eq!((status, body.as_str()), (200, INDEX), "{page}");
        assert_eq!(cache, "no-cache", "{page}: index.html is revalidated");
    }
    let page = app
        .client
        .get(app.url("/"))
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    let policy = page
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        policy.contains("connect-src 'self' https://live.example.com *:7777")
            && policy.contains("frame-ancestors 'none'"),
        "{policy}"
    );
    let (status, cache, body) = get("/assets/index-abc123.js").await;
    assert_eq!((status, body.as_str()), (200, "console.log(1)"));
    assert!(cache.contains("immutable"), "{cache}");
    let (status, _, body) = get("/assets/index-gone.js").await;
    assert_eq!(status, 404, "a missing asset is no page: {body}");

    let (status, _, body) = get("/client-config.json").await;
    assert_eq!(status, 200);
    let config: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    assert_eq!(
        config,
        json!({"notify_url": "https://live.example.com", "analytics_url": null})
    );

    app.get(None, "/api/no-such-route")
        .await
        .expect_error(404, "not_found");
    app.get(None, "/api").await.expect_error(404, "not_found");
    app.get(None, "/api/users/me").await.expect(401);
    app.get(None, "/health").await.expect(200);
}

#[tokio::test]
async fn without_a_client_directory_every_unknown_path_is_the_apis_json_404() {
    let app = TestApp::spawn().await;
    app.get(None, "/chats/12")
        .await
        .expect_error(404, "not_found");
    app.get(None, "/client-config.json")
        .await
        .expect_error(404, "not_found");
}

#[tokio::test]
async fn typing_over_http_is_published_for_the_other_members_only_and_throttled() {
    let app = TestApp::spawn_with(AppOptions {
        env: vec![("TYPING_THROTTLE_MS", "60000".to_owned())],
        ..AppOptions::default()
    })
    .await;
    let ann = app.owner("ann", "Acme").await;
    let bob = app.member(&ann, "bob").await;
    let cat = app.member(&ann, "cat").await;
    let chat = app.chat(&ann, "group", Some("launch"), &[&bob]).await;
    let nats = async_nats::connect(&app.nats_url)
        .await
        .unwrap_or_else(|err| panic!("nats: {err}"));
    let mut signals = nats
        .subscribe(app.bus.ephemeral_subject(EphemeralKind::Typing))
        .await
        .unwrap_or_else(|err| panic!("subscribe: {err}"));
    nats.flush()
        .await
        .unwrap_or_else(|err| panic!("flush: {err}"));
    let path = format!("/api/chats/{chat}/typing");

    let first = app.call(Method::POST, Some(&ann), &path, None).await;
    assert_eq!(first.expect(200).body, json!({"published": true}));
    let signal = tokio::time::timeout(WAIT, signals.next())
        .await
        .unwrap_or_else(|_| panic!("no typing signal"))
        .unwrap_or_else(|| panic!("subscription ended"));
    let typing: Typing = serde_json::from_slice(&signal.payload)
        .unwrap_or_else(|err| panic!("typing payload: {err}"));
    assert_eq!((typing.chat_id.0, typing.user_id.0), (chat, ann.id));
    assert_eq!(
        typing.recipients.iter().map(|u| u.0).collect::<Vec<_>>(),
        vec![bob.id]
    );

    // Within the interval the next one is dropped; an outsider is told the chat does not exist.
    let again = app.call(Method::POST, Some(&ann), &path, None).await;
    assert_eq!(again.expect(200).body, json!({"published": false}));
    app.call(Method::POST, Some(&cat), &path, None)
        .await
        .expect_error(404, "not_found");
    app.call(Method::POST, None, &path, None).await.expect(401);
    // Nothing else was published: the next signal is bob's, sent now.
    let from_bob = app.call(Method::POST, Some(&bob), &path, None).await;
    assert_eq!(from_bob.expect(200).body, json!({"published": true}));
    let next = tokio::time::timeout(WAIT, signals.next())
        .await
        .ok()
        .flatten()
        .and_then(|message| serde_json::from_slice::<Typing>(&message.payload).ok());
    assert_eq!(next.map(|typing| typing.user_id.0), Some(bob.id));
}
