//! Under nextest every test is its own process; the shared servers must still be started once.

use std::io::Write;

use test_support::{ClickHouse, Nats, Postgres};

/// Appends the shared servers' ports to a file all test processes of the run see, then checks
/// that every process that got here saw the same servers.
async fn record_and_compare() {
    let seen = format!(
        "postgres={} nats={} clickhouse={}\n",
        Postgres::shared().await.port(),
        Nats::shared().await.port(),
        ClickHouse::shared().await.http_port()
    );
    let path = test_support::run_dir().join("seen-shared-servers");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .expect("open the rendezvous file");
    file.write_all(seen.as_bytes())
        .expect("append to the rendezvous file");
    let all = std::fs::read_to_string(&path).expect("read the rendezvous file");
    assert!(
        all.lines().all(|line| line == seen.trim_end()),
        "different shared servers were started:\n{all}"
    );
}

#[tokio::test]
async fn one_test_process_sees_the_same_shared_servers_as_the_others() {
    record_and_compare().await;
}

#[tokio::test]
async fn another_test_process_sees_the_same_shared_servers_as_the_others() {
    record_and_compare().await;
}

#[tokio::test]
async fn shared_servers_are_the_same_objects_within_a_process() {
    assert!(std::ptr::eq(
        Postgres::shared().await,
        Postgres::shared().await
    ));
    assert!(std::ptr::eq(Nats::shared().await, Nats::shared().await));
    assert!(std::ptr::eq(
        ClickHouse::shared().await,
        ClickHouse::shared().await
    ));
}

#[tokio::test]
#[should_panic(expected = "cannot stop the shared postgres")]
async fn stopping_a_shared_server_is_refused() {
    Postgres::shared().await.stop().await;
}
