//! What durable delivery needs of NATS, user by user, on the repository's `nats/nats-server.conf`:
//! fechatter_server publishes every event kind; bot_server runs its two durable consumers (`bot`,
//! `bot_assistant`) and analytics_server its two (`analytics` on the events,
//! `analytics_client_events` on the client events it stores first), each sets up the dead-letter
//! stream and stores its dead letters there, and neither may touch the other's consumers, streams or
//! dead letters; the operator's re-drive (the `dead_letters` command) reads them and puts them back
//! on their original subjects.

use async_nats::HeaderMap;
use async_nats::jetstream::consumer::AckPolicy;
use async_nats::jetstream::consumer::pull::Config as PullConfig;
use async_nats::jetstream::{self, stream::Stream};
use e2e::nats_users::NatsUsers;
use fechatter_events::dead_letters::{self, Selection};
use fechatter_events::delivery::headers;
use fechatter_events::{EventBus, EventKind};
use futures::StreamExt;
use tokio::sync::mpsc;

use crate::nats::{WAIT, connect, violation};

/// Creates (or updates) the durable consumer `name` as the services do, looks it up, pulls one
/// message and acks it with the server's confirmation.
async fn pull_and_ack(stream: &Stream, name: &str, filter_subject: String) {
    let consumer = fechatter_events::consume::durable(
        stream,
        PullConfig {
            durable_name: Some(name.to_owned()),
            filter_subject,
            ack_policy: AckPolicy::Explicit,
            ..Default::default()
        },
    )
    .await
    .unwrap_or_else(|err| panic!("{name} is created: {err}"));
    stream
        .consumer_info(name)
        .await
        .unwrap_or_else(|err| panic!("{name} is looked up: {err}"));
    let mut messages = consumer
        .messages()
        .await
        .unwrap_or_else(|err| panic!("{name} pulls: {err}"));
    let message = tokio::time::timeout(WAIT, messages.next())
        .await
        .unwrap_or_else(|_| panic!("{name} got no message"))
        .unwrap_or_else(|| panic!("{name}'s messages ended"))
        .unwrap_or_else(|err| panic!("{name}'s message: {err}"));
    message
        .double_ack()
        .await
        .unwrap_or_else(|err| panic!("{name} acks: {err}"));
}

/// Stores a dead letter of `consumer` (of `service`) as the delivery policy does.
async fn park(
    jetstream: &jetstream::Context,
    bus: &EventBus,
    service: &str,
    consumer: &str,
    original_subject: &str,
) {
    let mut parked = HeaderMap::new();
    parked.insert(headers::ORIGINAL_SUBJECT, original_subject);
    parked.insert(headers::CONSUMER, consumer);
    parked.insert(headers::REASON, "failed: in a test");
    parked.insert(headers::DELIVERIES, "5");
    jetstream
        .publish_with_headers(bus.dead_letter_subject(service), parked, "given up".into())
        .await
        .unwrap_or_else(|err| panic!("{consumer} parks: {err}"))
        .await
        .unwrap_or_else(|err| panic!("{consumer}'s dead letter is stored: {err}"));
}

/// `client` publishes to each subject (JetStream API requests included) and the server refuses
/// every one.
async fn refused(
    client: &async_nats::Client,
    errors: &mut mpsc::UnboundedReceiver<String>,
    subjects: &[String],
) {
    for subject in subjects {
        client
            .publish(subject.clone(), "{}".into())
            .await
            .unwrap_or_else(|err| panic!("{err}"));
        client.flush().await.unwrap_or_else(|err| panic!("{err}"));
        violation(errors, subject).await;
    }
}

async fn messages_in(jetstream: &jetstream::Context, stream: &str) -> u64 {
    jetstream
        .get_stream(stream)
        .await
        .unwrap_or_else(|err| panic!("{stream}: {err}"))
        .info()
        .await
        .unwrap_or_else(|err| panic!("{stream} info: {err}"))
        .state
        .messages
}

#[tokio::test]
async fn each_consumer_service_runs_its_own_durable_consumers_and_dead_letters_and_the_operator_redrives_them()
 {
    let users = NatsUsers::generate();
    let nats = users.start().await;
    let bus = EventBus::default();
    let created = bus.subject(EventKind::MessageCreated);

    // fechatter_server publishes every kind (pins and statuses too) under `fechatter.events.>`.
    let (fechatter, _) = connect(&users, &nats, "fechatter").await;
    let fechatter = jetstream::new(fechatter);
    bus.ensure_stream(&fechatter)
        .await
        .unwrap_or_else(|err| panic!("fechatter creates the stream: {err}"));
    for kind in EventKind::ALL {
        fechatter
            .publish(bus.subject(*kind), "{}".into())
            .await
            .unwrap_or_else(|err| panic!("publish {kind:?}: {err}"))
            .await
            .unwrap_or_else(|err| panic!("{kind:?} is stored: {err}"));
    }
    let published = u64::try_from(EventKind::ALL.len()).unwrap_or_default();

    // bot_server: `bot` reads every event, `bot_assistant` the new messages.
    let (bot, mut bot_errors) = connect(&users, &nats, "bot").await;
    let bot_js = jetstream::new(bot.clone());
    bus.ensure_dead_letter_stream(&bot_js)
        .await
        .unwrap_or_else(|err| panic!("bot sets up the dead letters: {err}"));
    let events = bus
        .ensure_stream(&bot_js)
        .await
        .unwrap_or_else(|err| panic!("bot finds the stream: {err}"));
    pull_and_ack(&events, "bot", bus.all_events()).await;
    pull_and_ack(&events, "bot_assistant", created.clone()).await;
    park(&bot_js, &bus, "bot", "bot_assistant", &created).await;

    // analytics_server: its client events stored first, then both of its consumers; it sets the
    // dead letters' retention too (an update of the stream).
    let (analytics, mut analytics_errors) = connect(&users, &nats, "analytics").await;
    let analytics_js = jetstream::new(analytics.clone());
    let analytics_bus = EventBus {
        dead_letter_max_age: bus.dead_letter_max_age / 2,
        ..bus.clone()
    };
    analytics_bus
        .ensure_dead_letter_stream(&analytics_js)
        .await
        .unwrap_or_else(|err| panic!("analytics updates the dead letters: {err}"));
    let client_events = bus
        .ensure_client_event_stream(&analytics_js)
        .await
        .unwrap_or_else(|err| panic!("analytics sets up its client events: {err}"));
    analytics_js
        .publish(bus.client_event_subject(), "[]".into())
        .await
        .unwrap_or_else(|err| panic!("analytics stores client events: {err}"))
        .await
        .unwrap_or_else(|err| panic!("the client events are stored: {err}"));
    let events = bus
        .ensure_stream(&analytics_js)
        .await
        .unwrap_or_else(|err| panic!("analytics finds the stream: {err}"));
    pull_and_ack(&events, "analytics", bus.all_events()).await;
    pull_and_ack(
        &client_events,
        "analytics_client_events",
        bus.all_client_events(),
    )
    .await;
    park(
        &analytics_js,
        &bus,
        "analytics",
        "analytics_client_events",
        &bus.client_event_subject(),
    )
    .await;

    // Neither reaches into the other's consumers or streams, reads the dead letters, or changes
    // the events stream.
    let events_stream = &bus.stream;
    let client_stream = bus.client_event_stream();
    let dead_letters = bus.dead_letter_stream();
    refused(
        &bot,
        &mut bot_errors,
        &[
            format!(
                "$JS.API.CONSUMER.CREATE.{events_stream}.analytics.{}",
                bus.all_events()
            ),
            format!("$JS.API.CONSUMER.MSG.NEXT.{client_stream}.analytics_client_events"),
            bus.client_event_subject(),
            format!("$JS.API.STREAM.UPDATE.{events_stream}"),
            format!("$JS.API.STREAM.MSG.GET.{dead_letters}"),
            format!("$JS.API.STREAM.MSG.DELETE.{dead_letters}"),
        ],
    )
    .await;
    refused(
        &analytics,
        &mut analytics_errors,
        &[
            format!("$JS.API.CONSUMER.CREATE.{events_stream}.bot_assistant.{created}"),
            format!("$JS.API.CONSUMER.MSG.NEXT.{events_stream}.bot"),
            format!("$JS.API.STREAM.UPDATE.{events_stream}"),
            format!("$JS.API.STREAM.MSG.GET.{dead_letters}"),
            created.clone(),
        ],
    )
    .await;

    // The operator lists both dead letters and re-drives each to its original subject.
    let (operator, _) = connect(&users, &nats, "operator").await;
    let operator = jetstream::new(operator);
    let everything = Selection::default();
    let listed = dead_letters::list(&operator, &bus, &everything)
        .await
        .unwrap_or_else(|err| panic!("the operator lists the dead letters: {err}"));
    assert_eq!(
        listed
            .iter()
            .map(|letter| letter.consumer.as_str())
            .collect::<Vec<_>>(),
        ["bot_assistant", "analytics_client_events"]
    );
    let redriven = dead_letters::redrive(&operator, &bus, &everything, None)
        .await
        .unwrap_or_else(|err| panic!("the operator re-drives them: {err}"));
    assert_eq!(redriven.len(), 2);
    assert_eq!(messages_in(&operator, &bus.stream).await, published + 1);
    assert_eq!(messages_in(&operator, &client_stream).await, 2);
    assert_eq!(messages_in(&operator, &dead_letters).await, 0);
}
