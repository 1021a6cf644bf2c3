//! NATS is not open: it runs with the repository's `nats/nats-server.conf`, strangers cannot
//! connect, and each service's user may do only what that service does. The consumers cannot
//! publish events (only fechatter_server can) nor read another service's replies.

use std::time::Duration;

use async_nats::{ConnectOptions, Event};
use e2e::nats_users::NatsUsers;
use fechatter_events::{EventBus, EventKind};
use tokio::sync::mpsc;

pub(crate) const WAIT: Duration = Duration::from_secs(15);

/// A connection as `user`, with its inbox prefix, and the server errors it is sent.
pub(crate) async fn connect(
    users: &NatsUsers,
    nats: &test_support::Nats,
    user: &str,
) -> (async_nats::Client, mpsc::UnboundedReceiver<String>) {
    let (errors_tx, errors) = mpsc::unbounded_channel();
    let client = ConnectOptions::new()
        .user_and_password(user.to_owned(), users.password(user).to_owned())
        .custom_inbox_prefix(format!("_INBOX_{user}"))
        .event_callback(move |event| {
            let errors = errors_tx.clone();
            async move {
                if let Event::ServerError(error) = event {
                    let _ = errors.send(error.to_string());
                }
            }
        })
        .connect(nats.url())
        .await
        .unwrap_or_else(|err| panic!("{user} connects: {err}"));
    (client, errors)
}

/// Waits for the server to report a permission violation naming `subject`.
pub(crate) async fn violation(errors: &mut mpsc::UnboundedReceiver<String>, subject: &str) {
    let found = tokio::time::timeout(WAIT, async {
        while let Some(error) = errors.recv().await {
            if error.to_lowercase().contains("permissions violation") && error.contains(subject) {
                return;
            }
        }
    })
    .await;
    assert!(found.is_ok(), "no permission violation for {subject}");
}

/// Subscribes as `client` to `subject` and returns once the server has the subscription (a
/// message of its own came back through it).
async fn listen(client: &async_nats::Client, subject: &str) -> async_nats::Subscriber {
    let mut subscriber = client
        .subscribe(subject.to_owned())
        .await
        .unwrap_or_else(|err| panic!("subscribe to {subject}: {err}"));
    client
        .publish(subject.to_owned(), "probe".into())
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    let echoed = tokio::time::timeout(WAIT, futures::StreamExt::next(&mut subscriber)).await;
    assert!(matches!(echoed, Ok(Some(_))), "{subject} is not subscribed");
    subscriber
}

async fn stored(jetstream: &async_nats::jetstream::Context, bus: &EventBus) -> u64 {
    let mut stream = jetstream
        .get_stream(&bus.stream)
        .await
        .unwrap_or_else(|err| panic!("the stream: {err}"));
    stream
        .info()
        .await
        .unwrap_or_else(|err| panic!("stream info: {err}"))
        .state
        .messages
}

#[tokio::test]
async fn nats_refuses_strangers_and_wrong_passwords() {
    let users = NatsUsers::generate();
    let nats = users.start().await;
    let anonymous = ConnectOptions::new()
        .connection_timeout(Duration::from_secs(2))
        .connect(nats.url())
        .await;
    assert!(anonymous.is_err(), "an anonymous connection was accepted");
    let wrong = ConnectOptions::new()
        .user_and_password("fechatter".into(), "not-the-password".into())
        .connection_timeout(Duration::from_secs(2))
        .connect(nats.url())
        .await;
    assert!(wrong.is_err(), "a wrong password was accepted");
}

#[tokio::test]
async fn only_fechatter_publishes_events_and_each_consumer_only_its_own_dead_letters_and_notify_none()
 {
    let users = NatsUsers::generate();
    let nats = users.start().await;
    let bus = EventBus::default();
    let subject = bus.subject(EventKind::MessageCreated);
    let (fechatter, _) = connect(&users, &nats, "fechatter").await;
    let jetstream = async_nats::jetstream::new(fechatter.clone());
    bus.ensure_stream(&jetstream)
        .await
        .unwrap_or_else(|err| panic!("fechatter creates the stream: {err}"));
    jetstream
        .publish(subject.clone(), "from fechatter".into())
        .await
        .unwrap_or_else(|err| panic!("publish: {err}"))
        .await
        .unwrap_or_else(|err| panic!("fechatter's event is stored: {err}"));
    assert_eq!(stored(&jetstream, &bus).await, 1);

    for consumer in ["notify", "bot", "analytics"] {
        let (client, mut errors) = connect(&users, &nats, consumer).await;
        let own = bus.dead_letter_subject(consumer);
        if consumer == "notify" {
            // notify reads with ordered consumers that never give up on an event: it has no dead
            // letters to write.
            client
                .publish(own.clone(), "given up".into())
                .await
                .unwrap_or_else(|err| panic!("{err}"));
            client.flush().await.unwrap_or_else(|err| panic!("{err}"));
            violation(&mut errors, &own).await;
        } else {
            // Its own dead letters it may publish.
            let (operator, _) = connect(&users, &nats, "operator").await;
            let mut parked = listen(&operator, &own).await;
            client
                .publish(own.clone(), "given up".into())
                .await
                .unwrap_or_else(|err| panic!("{err}"));
            client.flush().await.unwrap_or_else(|err| panic!("{err}"));
            let received = tokio::time::timeout(WAIT, futures::StreamExt::next(&mut parked)).await;
            assert!(
                matches!(received, Ok(Some(_))),
                "{consumer} could not park a dead letter on {own}: {:?}",
                errors.try_recv()
            );
        }
        client
            .publish(subject.clone(), "forged".into())
            .await
            .unwrap_or_else(|err| panic!("{err}"));
        client.flush().await.unwrap_or_else(|err| panic!("{err}"));
        violation(&mut errors, &subject).await;
        // Another service's dead letters are not its to write either.
        let other = if consumer == "bot" {
            "analytics"
        } else {
            "bot"
        };
        let foreign_dlq = bus.dead_letter_subject(other);
        client
            .publish(foreign_dlq.clone(), "forged".into())
            .await
            .unwrap_or_else(|err| panic!("{err}"));
        client.flush().await.unwrap_or_else(|err| panic!("{err}"));
        violation(&mut errors, &foreign_dlq).await;
        // Nor may it read what fechatter_server is answered.
        let _snooping = client
            .subscribe("_INBOX_fechatter.>")
            .await
            .unwrap_or_else(|err| panic!("{err}"));
        client.flush().await.unwrap_or_else(|err| panic!("{err}"));
        violation(&mut errors, "_INBOX_fechatter.>").await;
    }
    assert_eq!(
        stored(&jetstream, &bus).await,
        1,
        "a consumer's forged event was stored"
    );
}
