//! A device stops reading its event stream (a laptop asleep with the socket open): notify cuts it
//! off once its buffer is full instead of holding events for it forever, counts that, and everyone
//! else still gets every message. A notify holding all the devices it may refuses one more with a
//! counted 503 instead of growing without bound; a user over their socket cap gets a counted 429.

use e2e::api::Api;
use e2e::metrics::{scrape, value};
use e2e::sse::message_ids;
use e2e::ws::Ws;
use e2e::{Service, Topology};
use serde_json::json;
use test_support::{Prometheus, wait_until};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpSocket;

use crate::{Pair, WAIT, prometheus_value};

/// Long messages fill a stalled connection's kernel buffers (megabytes on loopback) in a few
/// dozen sends. Notify also closes a connection whose writes stall for its write timeout (counted as
/// a client that left, not as a slow consumer): 20 s instead of 30 keeps the stalled socket's
/// clean-up short, yet leaves the buffer room to fill first however slowly a loaded machine sends.
const SETTINGS: &[(&str, &str)] = &[
    ("NOTIFY_SSE_BUFFER", "16"),
    ("NOTIFY_SSE_WRITE_TIMEOUT_MS", "20000"),
    // Bob's and cat's devices.
    ("NOTIFY_SSE_MAX_CONNECTIONS", "2"),
    // One socket per user.
    ("FECHATTER_WS_MAX_CONNECTIONS_PER_USER", "1"),
    ("FECHATTER_MAX_MESSAGE_CHARS", "100000"),
];
const LONG: usize = 60_000;
/// Far more than any connection's buffers hold.
const AT_MOST: usize = 300;
const LAST: &str = "that's all";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_that_stops_reading_is_cut_off_and_everyone_else_gets_every_message() {
    let topology = Topology::start_with(SETTINGS).await;
    let prometheus = Prometheus::start(topology.prometheus_config()).await;
    let pair = Pair::meet(&topology).await;
    let cat = pair.api.sign_up_member(&pair.ann, "cat").await;
    pair.api
        .post(
            Some(&pair.ann.access_token),
            &format!("/api/chats/{}/members", pair.chat),
            json!({"user_id": cat.id}),
        )
        .await
        .expect(201);

    // Cat's device: a connection with a tiny receive window whose bytes are never read.
    let notify = topology.url(Service::Notify);
    let address = notify
        .trim_start_matches("http://")
        .parse()
        .unwrap_or_else(|err| panic!("notify address: {err}"));
    let socket = TcpSocket::new_v4().unwrap_or_else(|err| panic!("socket: {err}"));
    socket
        .set_recv_buffer_size(2048)
        .unwrap_or_else(|err| panic!("SO_RCVBUF: {err}"));
    let mut stalled = socket
        .connect(address)
        .await
        .unwrap_or_else(|err| panic!("connect to notify: {err}"));
    let request = format!(
        "GET /events HTTP/1.1\r\nHost: {address}\r\nAccept: text/event-stream\r\n\
         Authorization: Bearer {}\r\n\r\n",
        cat.access_token
    );
    stalled
        .write_all(request.as_bytes())
        .await
        .unwrap_or_else(|err| panic!("send the request: {err}"));
    let directory = Api::new(&notify);
    let cat_online = || async {
        directory
            .get(Some(&pair.ann.access_token), "/online-users")
            .await
            .body["user_ids"]
            .as_array()
            .is_some_and(|ids| ids.iter().any(|id| *id == cat.id))
    };
    wait_until("cat's device to be online", WAIT, cat_online).await;

    let refused =
        tokio::time::timeout(WAIT, directory.get(Some(&pair.ann.access_token), "/events"))
            .await
            .unwrap_or_else(|_| panic!("a third device was neither refused nor served"));
    assert_eq!(refused.status, 503, "{:?}", refused.body);
    assert_eq!(refused.body["code"], "over_capacity", "{:?}", refused.body);
    assert!(refused.headers.contains_key("retry-after"));
    prometheus_value(
        &prometheus,
        r#"sum(notify_http_errors_total{route="/events",status="503"}) == 1"#,
    )
    .await;
    prometheus_value(
        &prometheus,
        r#"sum(notify_sse_connections_refused_total{reason="over_capacity"}) == 1"#,
    )
    .await;

    // A user over their socket cap gets a counted 429 too.
    let fechatter = topology.url(Service::Fechatter);
    let _anns_browser = Ws::connect(&fechatter, &pair.ann.access_token).await;
    let (status, body) = Ws::refused(&fechatter, &pair.ann.access_token).await;
    assert_eq!(
        (status, &body["code"]),
        (429, &json!("too_many_connections")),
        "{body}"
    );
    prometheus_value(
        &prometheus,
        r#"sum(fechatter_websocket_connections_refused_total{reason="too_many_connections"}) == 1"#,
    )
    .await;

    // Bob keeps reading all along.
    let mut bobs_app = pair.bobs_app;
    let bob_reads = tokio::spawn(async move {
        bobs_app
            .until("the last message", WAIT * 4, |d| {
                d.envelope["data"]["content"] == LAST
            })
            .await
    });
    let metrics = topology.metrics_url(Service::Notify);
    let notify_count = |name: &'static str, labels: &'static [(&'static str, &'static str)]| {
        let metrics = metrics.clone();
        async move { value(&scrape(&metrics).await, name, labels).unwrap_or(0.0) as usize }
    };
    let mut sent = Vec::new();
    loop {
        for _ in 0..10 {
            let long = format!("#{} {}", sent.len(), "z".repeat(LONG));
            sent.push(pair.api.send(&pair.ann, pair.chat, &long).await);
        }
        // Notify may lag behind the sends; judge only what it has handed out.
        wait_until("notify to route every message so far", WAIT, || async {
            notify_count(
                "notify_events_broadcast_total",
                &[("event", "message.created")],
            )
            .await
                >= sent.len()
        })
        .await;
        if notify_count("notify_broadcast_failures_total", &[]).await > 0 {
            break;
        }
        assert!(sent.len() < AT_MOST, "not cut off after {AT_MOST} messages");
    }
    wait_until(
        "cat's connection to close as a slow consumer",
        WAIT,
        || async {
            notify_count(
                "notify_sse_connections_closed_total",
                &[("reason", "slow_consumer")],
            )
            .await
                == 1
        },
    )
    .await;
    sent.push(pair.api.send(&pair.ann, pair.chat, LAST).await);
    wait_until("cat to be offline", WAIT, || async { !cat_online().await }).await;
    let bob_got = bob_reads
        .await
        .unwrap_or_else(|err| panic!("bob's reader: {err}"));
    assert_eq!(
        message_ids(&bob_got),
        sent,
        "bob gets every message once, in order"
    );
    prometheus_value(
        &prometheus,
        r#"sum(notify_broadcast_failures_total{reason="buffer_full"}) > 0"#,
    )
    .await;
    drop(stalled);
}
