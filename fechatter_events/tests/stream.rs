//! The event stream against a real NATS server.

use std::time::Duration;

use fechatter_events::EventBus;
use test_support::{Nats, unique_name};

#[tokio::test]
async fn ensuring_the_stream_twice_creates_it_once_with_the_contract_settings() {
    let nats = Nats::shared().await;
    let client = fechatter_events::nats::connect(&nats.url(), "test")
        .await
        .expect("connect");
    let jetstream = async_nats::jetstream::new(client);
    let bus = EventBus::isolated(&unique_name("stream"));
    tokio::time::timeout(Duration::from_secs(10), bus.ensure_stream(&jetstream))
        .await
        .expect("first ensure in time")
        .expect("first ensure");
    let mut stream = tokio::time::timeout(Duration::from_secs(10), bus.ensure_stream(&jetstream))
        .await
        .expect("second ensure in time")
        .expect("second ensure");
    let info = stream.info().await.expect("info");
    assert_eq!(info.config.subjects, vec![bus.all_events()]);
    assert_eq!(info.config.max_age, Duration::from_secs(7 * 24 * 3600));
}

#[tokio::test]
async fn the_health_probe_passes_against_a_live_jetstream_and_fails_once_it_stops() {
    let nats = Nats::dedicated().await;
    let client = fechatter_events::nats::connect(&nats.url(), "probe")
        .await
        .expect("connect");
    test_support::wait_until("the probe to pass", Duration::from_secs(10), || async {
        fechatter_events::nats::probe(&client).await.is_ok()
    })
    .await;
    nats.stop().await;
    test_support::wait_until("the probe to fail", Duration::from_secs(10), || async {
        fechatter_events::nats::probe(&client).await.is_err()
    })
    .await;
}
