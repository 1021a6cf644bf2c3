use async_nats::jetstream::{self, stream};
use test_support::{Nats, unique_name};

async fn stream_with_one_message(nats: &Nats) -> String {
    let client = async_nats::connect(nats.url())
        .await
        .expect("connect to NATS");
    let js = jetstream::new(client);
    let name = unique_name("s").to_uppercase();
    let subject = format!("{}.events.>", name.to_lowercase());
    js.create_stream(stream::Config {
        name: name.clone(),
        subjects: vec![subject],
        storage: stream::StorageType::File,
        ..Default::default()
    })
    .await
    .expect("create stream");
    js.publish(
        format!("{}.events.test", name.to_lowercase()),
        "hello".into(),
    )
    .await
    .expect("publish")
    .await
    .expect("JetStream ack");
    name
}

async fn messages_in(nats: &Nats, name: &str) -> u64 {
    let js = jetstream::new(
        async_nats::connect(nats.url())
            .await
            .expect("connect to NATS"),
    );
    let mut stream = js.get_stream(name).await.expect("stream exists");
    stream.info().await.expect("stream info").state.messages
}

#[tokio::test]
async fn the_shared_nats_has_jetstream_and_monitoring() {
    let nats = Nats::shared().await;
    let name = stream_with_one_message(nats).await;
    assert_eq!(messages_in(nats, &name).await, 1);
    let varz = reqwest::get(format!("{}/varz", nats.monitoring_url()))
        .await
        .expect("GET /varz");
    assert!(varz.status().is_success());
}

#[tokio::test]
async fn a_dedicated_nats_keeps_its_streams_across_stop_and_start() {
    let nats = Nats::dedicated().await;
    let name = stream_with_one_message(&nats).await;

    nats.stop().await;
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", nats.port())).is_err(),
        "still listening after stop"
    );
    nats.start().await;

    assert_eq!(messages_in(&nats, &name).await, 1);
}

#[tokio::test]
async fn a_server_holds_more_gigabyte_sized_streams_than_the_free_disk_would_allow() {
    let nats = Nats::dedicated().await;
    let client = async_nats::connect(nats.url())
        .await
        .expect("connect to NATS");
    let js = jetstream::new(client);
    // Each test's stream reserves its max_bytes; a run creates dozens on one shared server.
    for _ in 0..64 {
        let name = unique_name("big").to_uppercase();
        js.create_stream(stream::Config {
            subjects: vec![format!("{}.>", name.to_lowercase())],
            name,
            storage: stream::StorageType::File,
            max_bytes: 1024 * 1024 * 1024,
            ..Default::default()
        })
        .await
        .expect("a 1 GiB stream is accepted");
    }
}
