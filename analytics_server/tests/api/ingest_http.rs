//! Client events over HTTP.

use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestApp, WAIT, event};

const BATCHES: usize = 10;
const PER_BATCH: usize = 1_000;

#[tokio::test]
async fn ten_thousand_events_in_batches_are_stored_exactly_once_in_few_inserts() {
    let app = TestApp::ready(&[]).await;
    let token = app.token(7, 3);
    let now = Utc::now();
    let batches: Vec<Value> = (0..BATCHES)
        .map(|b| {
            let events: Vec<Value> = (0..PER_BATCH)
                .map(|i| {
                    event(
                        "navigation",
                        &format!("s{b}"),
                        now - Duration::seconds(i as i64),
                    )
                })
                .collect();
            json!({ "events": events })
        })
        .collect();
    for batch in &batches {
        let (status, body) = app.post("/api/events", batch, Some(&token)).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        assert_eq!(body["accepted"], PER_BATCH);
        assert_eq!(body["duplicates"], 0);
    }
    let total = (BATCHES * PER_BATCH) as u64;
    app.wait_for_number(
        "every event to be stored",
        "SELECT count() FROM events",
        total,
    )
    .await;
    assert_eq!(
        app.number("SELECT uniqExact(event_id) FROM events").await,
        total
    );
    assert_eq!(
        app.number("SELECT count() FROM events WHERE user_id = 7 AND workspace_id = 3")
            .await,
        total
    );

    // A client retrying a batch it already sent stores nothing twice.
    let (status, body) = app.post("/api/events", &batches[0], Some(&token)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["duplicates"], PER_BATCH);

    // Rows are counted once their insert returned, after ClickHouse already shows them.
    test_support::wait_until("every stored event to be counted", WAIT, || async {
        app.metric(
            "analytics_events_ingested_total",
            &[("source", "http"), ("event_type", "navigation")],
        )
        .await
            >= total as f64
    })
    .await;
    let inserts = app.metric("analytics_ingest_batch_events_count", &[]).await;
    let rows = app.metric("analytics_ingest_batch_events_sum", &[]).await;
    assert_eq!(rows, total as f64);
    assert!(
        (1.0..=BATCHES as f64).contains(&inserts),
        "{total} events took {inserts} inserts"
    );
    let ingested = app
        .metric(
            "analytics_events_ingested_total",
            &[("source", "http"), ("event_type", "navigation")],
        )
        .await;
    assert_eq!(ingested, total as f64);
    assert_eq!(
        app.metric("analytics_events_duplicate_total", &[("source", "http")])
            .await,
        PER_BATCH as f64
    );
    // Nothing was written twice after the retry either.
    assert_eq!(app.number("SELECT count() FROM events").await, total);
}

#[tokio::test]
async fn bad_input_gets_the_right_error_and_a_mixed_batch_keeps_its_good_events() {
    let app = TestApp::ready(&[
        ("ANALYTICS_BATCH_MAX_EVENTS", "5"),
        ("ANALYTICS_BATCH_MAX_BYTES", "4096"),
    ])
    .await;
    let now = Utc::now();

    let (status, body) = app
        .post_raw(
            "/api/events",
            "{\"events\": [".into(),
            Some(&app.token(1, 1)),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("malformed_json"))
    );

    let (status, body) = app
        .post(
            "/api/event",
            &event("app_exploded", "s", now),
            Some(&app.token(1, 1)),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        (body["code"].as_str(), body["field"].as_str()),
        (Some("unknown_event_type"), Some("event_type"))
    );

    let future = event("app_start", "s", now + Duration::hours(2));
    let (status, body) = app
        .post("/api/event", &future, Some(&app.token(1, 1)))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("timestamp_in_future")
        )
    );

    let six: Vec<Value> = (0..6).map(|_| event("app_start", "s", now)).collect();
    let (status, body) = app
        .post(
            "/api/events",
            &json!({ "events": six }),
            Some(&app.token(1, 1)),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("batch_too_large"))
    );

    let mut heavy = event("app_start", "s", now);
    heavy["properties"] = json!({ "padding": "x".repeat(5_000) });
    let (status, body) = app
        .post(
            "/api/events",
            &json!({ "events": [heavy] }),
            Some(&app.token(1, 1)),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large"))
    );

    let (status, body) = app
        .post(
            "/api/events",
            &json!({ "events": [] }),
            Some(&app.token(1, 1)),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("empty_batch"))
    );

    let mut spoofed = event("app_start", "s", now);
    spoofed["user_id"] = json!(1);
    let good = [
        event("app_start", "s1", now),
        event("chat_opened", "s1", now),
    ];
    let mixed = json!({ "events": [good[0], event("nope", "s1", now), good[1], spoofed] });
    let (status, body) = app
        .post("/api/events", &mixed, Some(&app.token(1, 1)))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["accepted"], 2);
    let rejected: Vec<(u64, &str)> = body["rejected"]
        .as_array()
        .expect("a rejected list")
        .iter()
        .map(|r| {
            (
                r["index"].as_u64().unwrap_or(99),
                r["code"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        rejected,
        vec![(1, "unknown_event_type"), (3, "unknown_field")]
    );

    // The same mixed batch again: the good events are duplicates, still stored once.
    let (_, body) = app
        .post("/api/events", &mixed, Some(&app.token(1, 1)))
        .await;
    assert_eq!(
        (body["accepted"].as_u64(), body["duplicates"].as_u64()),
        (Some(2), Some(2))
    );
    app.wait_for_number(
        "the good events to be stored",
        "SELECT count() FROM events",
        2,
    )
    .await;
    let stored = app
        .sql("SELECT toString(event_id) FROM events ORDER BY event_id")
        .await;
    for event in &good {
        assert!(stored.contains(event["event_id"].as_str().unwrap_or("-")));
    }

    let all_bad = json!({ "events": [event("nope", "s", now)] });
    let (status, body) = app
        .post("/api/events", &all_bad, Some(&app.token(1, 1)))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("no_valid_events"))
    );
    assert_eq!(body["rejected"][0]["index"], 0);

    for (reason, count) in [
        ("malformed_json", 1.0),
        ("unknown_event_type", 4.0),
        ("timestamp_in_future", 1.0),
        ("batch_too_large", 1.0),
        ("payload_too_large", 1.0),
        ("empty_batch", 1.0),
        ("unknown_field", 2.0),
    ] {
        let counted = app
            .metric(
                "analytics_event_validation_errors_total",
                &[("reason", reason)],
            )
            .await;
        assert_eq!(counted, count, "{reason}");
    }
    assert_eq!(app.number("SELECT count() FROM events").await, 2);
}

#[tokio::test]
async fn the_user_and_workspace_of_an_event_come_from_the_access_token_only() {
    let app = TestApp::ready(&[]).await;
    let now = Utc::now();
    let (status, body) = app
        .post(
            "/api/event",
            &event("user_login", "s", now),
            Some(&app.token(42, 9)),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let id = body["event_id"].as_str().expect("an event id").to_owned();
    // No anonymous events: a client reports once signed in.
    let (status, body) = app
        .post("/api/event", &event("app_start", "s", now), None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
    );
    let (status, body) = app
        .post(
            "/api/event",
            &event("app_start", "s", now),
            Some("not-a-token"),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_token"))
    );

    app.wait_for_number("the event to be stored", "SELECT count() FROM events", 1)
        .await;
    let owner = app
        .sql(&format!(
            "SELECT user_id, workspace_id FROM events WHERE event_id = toUUID('{id}') FORMAT TSV"
        ))
        .await;
    assert_eq!(owner.trim(), "42\t9");
}

#[tokio::test]
async fn events_accepted_before_a_shutdown_are_stored_and_written_exactly_once_after_the_restart() {
    // No flush by time or size before the shutdown.
    let app = TestApp::ready(&[("ANALYTICS_FLUSH_INTERVAL_MS", "600000")]).await;
    let events: Vec<Value> = (0..100)
        .map(|_| event("app_exit", "s", Utc::now()))
        .collect();
    let (status, _) = app
        .post(
            "/api/events",
            &json!({ "events": events }),
            Some(&app.token(1, 1)),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(app.number("SELECT count() FROM events").await, 0);
    // The 202 came after JetStream stored them: they are in the client-event stream.
    let stored = app.client_event_stream_messages().await;
    assert!(stored >= 1, "the accepted events are in their stream");
    // Whether the shutdown's last flush wrote them or the next start does, each is stored once.
    let app = app.restart(&[]).await;
    app.wait_for_number(
        "the events to be written",
        "SELECT count() FROM events",
        100,
    )
    .await;
    assert_eq!(
        app.number("SELECT uniqExact(event_id) FROM events").await,
        100
    );
}
