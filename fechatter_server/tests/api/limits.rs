//! Input and clients that would make the service work without bound: lists longer than their
//! limit are refused before any work is done, and slow clients are disconnected.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::metrics::value;
use crate::common::{AppOptions, TestApp};

/// Transactions opened for requests so far (the outbox relay's are counted apart).
async fn request_transactions(app: &TestApp) -> f64 {
    value(
        &app.scrape().await,
        "fechatter_db_query_duration_seconds_count",
        &[("operation", "transaction.begin")],
    )
    .unwrap_or(0.0)
}

#[tokio::test]
async fn lists_over_their_limit_are_refused_at_once_without_opening_a_transaction() {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let chat = app.chat(&ann, "group", Some("g"), &[]).await;
    let before = request_transactions(&app).await;
    assert!(before > 0.0, "sign-up and chat creation use transactions");

    let files: Vec<i64> = (1..=20_000).collect();
    let started = Instant::now();
    app.post(
        Some(&ann),
        &format!("/api/chats/{chat}/messages"),
        json!({"content": "look", "files": files}),
    )
    .await
    .expect_error(422, "too_many_files");
    let members: Vec<i64> = (1..=20_000).collect();
    app.post(
        Some(&ann),
        "/api/chats",
        json!({"chat_type": "group", "name": "big", "members": members}),
    )
    .await
    .expect_error(422, "member_limit_reached");
    let elapsed = started.elapsed();

    assert_eq!(request_transactions(&app).await, before);
    assert!(
        elapsed < Duration::from_millis(1500),
        "two refusals took {elapsed:?}"
    );
    assert_eq!(app.count("SELECT count(*) FROM messages").await, 0);
    // One over the limit is refused too; the limit itself is fine.
    let eleven: Vec<i64> = (1..=11).collect();
    app.post(
        Some(&ann),
        &format!("/api/chats/{chat}/messages"),
        json!({"content": "look", "files": eleven}),
    )
    .await
    .expect_error(422, "too_many_files");
}

#[tokio::test]
async fn a_client_sending_one_header_byte_every_five_seconds_is_disconnected_at_the_deadline() {
    let app = TestApp::spawn_with(AppOptions {
        env: vec![("HEADER_READ_TIMEOUT_MS", "700".to_owned())],
        ..AppOptions::default()
    })
    .await;
    for url in [&app.base, &app.metrics_url] {
        let addr = url
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let stream = TcpStream::connect(&addr)
            .await
            .unwrap_or_else(|err| panic!("{addr}: {err}"));
        let (mut reader, mut writer) = stream.into_split();
        let started = Instant::now();
        let trickle = tokio::spawn(async move {
            for byte in b"GET /live HTTP/1.1\r\nHost: x\r\n\r\n" {
                if writer.write_all(&[*byte]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        });
        let mut received = Vec::new();
        tokio::time::timeout(Duration::from_secs(4), reader.read_to_end(&mut received))
            .await
            .unwrap_or_else(|_| panic!("{addr} kept the connection open for 4 s"))
            .unwrap_or_default();
        trickle.abort();
        let held = started.elapsed();
        assert!(
            held >= Duration::from_millis(700) && held < Duration::from_millis(2700),
            "{addr} closed the connection after {held:?}"
        );
    }
}
