//! The web client in a real browser: two people in Debian's chromium (playwright-core) sign up,
//! chat, share a file, search and ask the assistant on the whole topology; notify is restarted
//! under them (they resync); a session is revoked; their client analytics reach ClickHouse. The browser side is
//! `web/tests/browser/scenario.mjs`; this test runs the topology and acts on it when asked.

use std::time::Duration;

use e2e::browser::{Said, WebClient};
use e2e::{Service, Topology};
use test_support::wait_until;

/// The scenario takes about a minute on a loaded 2-core machine; every step inside has its own
/// shorter bound.
const SCENARIO: Duration = Duration::from_secs(180);
const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_chat_in_browsers_live_through_a_notify_restart_and_their_analytics_reach_clickhouse()
 {
    let web = WebClient::locate();
    let dist = web.dist.display().to_string();
    let topology = Topology::start_with(&[
        ("FECHATTER_WEB_DIR", dist.as_str()),
        // Short-lived tokens, so the pages refresh theirs (and notify ends streams at expiry)
        // several times during the scenario.
        ("FECHATTER_ACCESS_TOKEN_TTL_SECONDS", "10"),
        // What a page misses while notify is down is more than notify replays: it sends
        // `resync`, and the pages refetch.
        ("NOTIFY_REPLAY_MAX_EVENTS", "4"),
    ])
    .await;
    let url = topology.url(Service::Fechatter);
    let mut scenario = web.start(
        "tests/browser/scenario.mjs",
        &[("FECHATTER_WEB_URL", url.as_str())],
    );
    let mut step = String::from("start");
    let mut result = None;
    let deadline = tokio::time::Instant::now() + SCENARIO;
    loop {
        let said = tokio::time::timeout_at(deadline, scenario.next())
            .await
            .unwrap_or_else(|_| {
                panic!("the browser scenario did not finish in {SCENARIO:?}; last step: {step}")
            });
        match said {
            Said::Step(name) => {
                eprintln!("browser step: {name}");
                step = name;
            }
            Said::Control(command) => {
                match command.as_str() {
                    "stop-notify" => topology.stop_service(Service::Notify).await,
                    "start-notify" => {
                        topology.start_service(Service::Notify).await;
                        topology.wait_ready(Service::Notify).await;
                    }
                    other => {
                        panic!("the scenario asked for {other:?}, which this test does not do")
                    }
                }
                scenario.answer("ok").await;
            }
            Said::Result(value) => result = Some(value),
            Said::Finished(status, stderr) => {
                assert!(
                    status.success(),
                    "the browser scenario failed at step {step:?} ({status}):\n{stderr}"
                );
                break;
            }
        }
    }
    let result = result.unwrap_or_else(|| panic!("the scenario reported nothing"));

    // What each page sent, stored under its person (the token decides the user, not the page).
    let expected = [
        (
            "alice",
            &[
                "app_start",
                "user_login",
                "navigation",
                "chat_opened",
                "message_sent",
                "reaction_added",
                "file_uploaded",
                "search_performed",
                "user_logout",
            ][..],
        ),
        (
            "bob",
            &[
                "app_start",
                "user_login",
                "navigation",
                "chat_opened",
                "message_sent",
                "message_read",
                "file_downloaded",
                "search_performed",
            ][..],
        ),
    ];
    for (who, types) in expected {
        let client = result[who]["client_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let user = result[who]["id"].as_i64().unwrap_or_default();
        assert!(!client.is_empty() && user > 0, "{who}: {result}");
        for event_type in types {
            let filter = format!(
                "source = 'http' AND client_id = '{client}' AND user_id = {user} \
                 AND event_type = '{event_type}'"
            );
            wait_until(
                &format!("{who}'s {event_type} in ClickHouse"),
                WAIT,
                || async { topology.analytics_rows(&filter).await.1 >= 1 },
            )
            .await;
        }
    }
    // Bob reloaded his page once: two sessions.
    let bob = result["bob"]["client_id"].as_str().unwrap_or_default();
    let sessions = topology
        .clickhouse
        .query(&format!(
            "SELECT uniqExact(session_id) FROM fechatter_analytics.events \
             WHERE client_id = '{bob}' FORMAT TSV"
        ))
        .await;
    assert!(
        sessions.trim().parse::<u64>().unwrap_or(0) >= 2,
        "bob's sessions: {sessions}"
    );
}
