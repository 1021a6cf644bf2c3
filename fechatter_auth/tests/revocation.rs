//! The revoked-session list against a real NATS JetStream.

use std::time::Duration;

use fechatter_auth::revocation::RevokedSessions;
use fechatter_events::payload::{RevocationReason, SessionRevoked};
use fechatter_events::{Envelope, EventBus, EventKind, UserId, WorkspaceId};
use test_support::{Nats, unique_name, wait_until};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(10);

async fn publish(
    jetstream: &async_nats::jetstream::Context,
    bus: &EventBus,
    kind: EventKind,
    session: Uuid,
) {
    let envelope = Envelope::unchecked(
        kind,
        WorkspaceId(1),
        None,
        Some(UserId(7)),
        vec![UserId(7)],
        &SessionRevoked {
            session_id: session,
            user_id: UserId(7),
            reason: RevocationReason::SignedOut,
        },
    )
    .expect("an envelope");
    jetstream
        .publish(bus.subject(kind), envelope.to_json().expect("json").into())
        .await
        .expect("publish")
        .await
        .expect("ack");
}

#[tokio::test]
async fn revocations_from_before_start_up_and_after_it_are_both_known() {
    let nats = Nats::shared().await;
    let client = fechatter_events::nats::connect(&nats.url(), "revocation-test")
        .await
        .expect("connect");
    let jetstream = async_nats::jetstream::new(client);
    let bus = EventBus::isolated(&unique_name("revoked"));
    bus.ensure_stream(&jetstream).await.expect("stream");
    let (before, after, other) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    publish(&jetstream, &bus, EventKind::SessionRevoked, before).await;
    // Another kind naming a session is not a revocation.
    publish(&jetstream, &bus, EventKind::ChatRead, other).await;

    let revoked = RevokedSessions::new(Duration::from_secs(900));
    let shutdown = CancellationToken::new();
    let follower = tokio::spawn(revoked.clone().follow(
        jetstream.clone(),
        bus.clone(),
        shutdown.clone(),
    ));
    wait_until(
        "the revocation before start-up to be loaded",
        WAIT,
        || async { revoked.is_revoked(before) && revoked.is_caught_up() },
    )
    .await;
    assert!(!revoked.is_revoked(after));

    publish(&jetstream, &bus, EventKind::SessionRevoked, after).await;
    wait_until("the new revocation to be followed", WAIT, || async {
        revoked.is_revoked(after)
    })
    .await;
    assert!(!revoked.is_revoked(other));
    assert_eq!(revoked.len(), 2);
    shutdown.cancel();
    tokio::time::timeout(WAIT, follower)
        .await
        .expect("the follower stops on shutdown")
        .expect("the follower does not panic");
}
