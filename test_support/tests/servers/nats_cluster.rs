use std::time::Duration;

use async_nats::jetstream::{self, stream};
use test_support::{NatsCluster, eventually, unique_name, wait_until};

async fn jetstream_on(url: &str) -> jetstream::Context {
    jetstream::new(async_nats::connect(url).await.expect("connect to a node"))
}

/// The stream's info as one node's client gets it (retried while a leader is being elected).
async fn info(js: &jetstream::Context, name: &str) -> stream::Info {
    eventually("the stream's info", crate::TIMEOUT, || async {
        let found = tokio::time::timeout(Duration::from_secs(2), js.get_stream(name)).await;
        match found {
            Ok(Ok(stream)) => Some(stream.cached_info().clone()),
            _ => None,
        }
    })
    .await
}

#[tokio::test]
async fn a_three_node_cluster_keeps_a_replicated_stream_and_its_identity_through_a_node_crash() {
    let cluster = NatsCluster::start().await;
    let name = unique_name("c").to_uppercase();
    let subject = format!("{}.x", name.to_lowercase());
    let js = jetstream_on(&cluster.url(0)).await;
    js.create_stream(stream::Config {
        name: name.clone(),
        subjects: vec![subject.clone()],
        storage: stream::StorageType::File,
        num_replicas: NatsCluster::REPLICAS,
        ..Default::default()
    })
    .await
    .expect("create a stream of 3 replicas");
    js.publish(subject.clone(), "one".into())
        .await
        .expect("publish")
        .await
        .expect("ack");

    // Every node reports the same creation time: it names the stream's incarnation.
    let created = info(&js, &name).await.created;
    for node in 1..NatsCluster::NODES {
        let other = jetstream_on(&cluster.url(node)).await;
        assert_eq!(info(&other, &name).await.created, created, "node {node}");
    }

    // Kill the stream's leader; the other two elect another and carry on.
    let leader = info(&js, &name)
        .await
        .cluster
        .and_then(|c| c.leader)
        .and_then(|leader| cluster.node_named(&leader))
        .expect("the stream has a leader among the nodes");
    cluster.kill_node(leader).await;
    let survivor = jetstream_on(&cluster.url((leader + 1) % NatsCluster::NODES)).await;
    // Retried while the survivors elect a leader; a duplicate id keeps a retry from storing twice.
    wait_until(
        "a publish to the surviving quorum",
        crate::TIMEOUT,
        || async {
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("Nats-Msg-Id", "two");
            let acked = async {
                survivor
                    .publish_with_headers(subject.clone(), headers, "two".into())
                    .await?
                    .await?;
                Ok::<_, async_nats::Error>(())
            };
            matches!(
                tokio::time::timeout(Duration::from_secs(2), acked).await,
                Ok(Ok(()))
            )
        },
    )
    .await;
    let after = info(&survivor, &name).await;
    assert_eq!(after.created, created, "the identity survives a new leader");
    assert_eq!(after.state.messages, 2);
    assert_ne!(
        after.cluster.and_then(|c| c.leader),
        Some(cluster.server_name(leader))
    );

    cluster.start_node(leader).await;
    let back = jetstream_on(&cluster.url(leader)).await;
    wait_until("the restarted node to catch up", crate::TIMEOUT, || async {
        info(&back, &name).await.state.messages == 2
    })
    .await;
}
