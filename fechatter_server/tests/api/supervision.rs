//! The server owns its background tasks: one that panics is logged, counted, shown in `/health`
//! (degraded, not unready) and restarted, and does its work again.

use fechatter_events::EventKind;
use test_support::{eventually, wait_until};

use crate::common::metrics::value;
use crate::common::{TestApp, WAIT};

#[tokio::test]
async fn the_outbox_relay_made_to_panic_is_restarted_counted_and_shown_in_health() {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let chat = app.chat(&ann, "group", Some("ops"), &[]).await;
    let restarts = || async {
        value(
            &app.scrape().await,
            "fechatter_background_task_restarts_total",
            &[("task", "outbox_relay")],
        )
    };
    assert_eq!(
        restarts().await,
        Some(0.0),
        "the series exists from the start"
    );
    let health = app.get(None, "/health").await;
    assert_eq!(health.body["checks"]["background_tasks"]["status"], "up");

    assert!(app.supervisor.inject_panic("outbox_relay"));
    wait_until("the restart to be counted", WAIT, || async {
        restarts().await == Some(1.0)
    })
    .await;
    // `/health` answers from a report up to a second old: wait for one made after the restart
    // (another check, such as the sockets' reader still subscribing, may also degrade it).
    let health = eventually("/health to show the restart", WAIT, || async {
        let health = app.get(None, "/health").await;
        (health.body["checks"]["background_tasks"]["status"] == "down").then_some(health)
    })
    .await;
    assert_eq!(
        (health.status, health.body["status"].as_str()),
        (200, Some("degraded")),
        "{}",
        health.body
    );
    let tasks = &health.body["checks"]["background_tasks"];
    assert_eq!(tasks["critical"], false);
    let error = tasks["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("outbox_relay restarted 1 time(s)") && error.contains("panicked"),
        "{error}"
    );
    assert_eq!(app.get(None, "/ready").await.status, 200, "still ready");

    // The restarted relay publishes what is sent next.
    let before = app.published_events().await.len();
    app.send(&ann, chat, "after the restart").await;
    let events = app.published_events().await;
    let kinds: Vec<EventKind> = events[before..].iter().map(|event| event.kind).collect();
    assert_eq!(kinds, [EventKind::MessageCreated]);
}
