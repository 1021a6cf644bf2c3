//! A service is killed (SIGKILL) while ann keeps sending, and started again: a durable consumer
//! resumes where it left off, notify's clients resume from their cursors, so nothing is lost and
//! nothing counts twice.

use std::time::Duration;

use e2e::analytics::{client_event, post_events, report, total};
use e2e::api::Api;
use e2e::metrics::{scrape, value};
use e2e::sse::{Sse, message_ids};
use e2e::traffic::Sender;
use e2e::{Service, Topology};
use serde_json::json;
use test_support::wait_until;

use crate::{Pair, WAIT};

const EVERY: Duration = Duration::from_millis(100);
/// A full batch (`ANALYTICS_BATCH_MAX_EVENTS`).
const APP_EVENTS: u64 = 1_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_killed_mid_conversation_resumes_and_bob_gets_every_message_once() {
    let topology = Topology::start().await;
    let mut pair = Pair::meet(&topology).await;
    let sender = Sender::start(pair.api.clone(), pair.ann.clone(), pair.chat, EVERY);
    let mut seen = Vec::new();
    let before = pair
        .bobs_app
        .until("five messages before the crash", WAIT, |d| {
            seen.extend(d.message_id());
            seen.len() >= 5
        })
        .await;
    let mut received = message_ids(&before);
    let had_before = received.len();

    topology.kill_service(Service::Notify).await;
    let at_kill = sender.stored();
    let resume_after = pair.bobs_app.last_event_id.clone();
    wait_until("messages sent while notify is dead", WAIT, || async {
        sender.stored() >= at_kill + 10
    })
    .await;
    topology.start_service(Service::Notify).await;
    topology.wait_ready(Service::Notify).await;
    let sent_while_dead = sender.stored() - at_kill;
    let notify = topology.url(Service::Notify);
    let (mut laptop, replayed) = Sse::connect(
        &notify,
        &pair.bob.access_token,
        resume_after.as_deref(),
        WAIT,
    )
    .await;
    received.extend(message_ids(&replayed));
    let at_return = sender.stored();
    wait_until("messages sent after the restart", WAIT, || async {
        sender.stored() >= at_return + 10
    })
    .await;
    let sent = sender.stop().await;
    assert!(sent.failures.is_empty(), "{:?}", sent.failures);
    let last = *sent.ids.last().unwrap_or(&0);
    received.extend(message_ids(&laptop.until_message(last, WAIT).await));
    assert_eq!(received, sent.ids, "bob gets every message once, in order");

    // The restarted notify read the log from its head at start-up: what bob missed while it was
    // dead reached him as the replay, and its reader went through only what came after.
    assert!(
        !message_ids(&replayed).is_empty(),
        "what was sent while notify was dead came as a replay"
    );
    let consumed = value(
        &scrape(&topology.metrics_url(Service::Notify)).await,
        "notify_nats_messages_received_total",
        &[("event", "message.created")],
    )
    .unwrap_or(0.0) as usize;
    let after_bobs = sent.ids.len() - had_before;
    assert!(
        consumed + sent_while_dead / 2 < after_bobs,
        "the restarted notify read {consumed} messages; {sent_while_dead} of the {after_bobs} \
         after the last bob had before the crash were sent while it was dead"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analytics_killed_right_after_a_202_and_mid_conversation_loses_nothing_and_counts_everything_once()
 {
    let topology = Topology::start().await;
    let pair = Pair::meet(&topology).await;
    let sender = Sender::start(pair.api.clone(), pair.ann.clone(), pair.chat, EVERY);
    wait_until("messages in ClickHouse before the crash", WAIT, || async {
        topology
            .analytics_rows("event_type = 'message.created'")
            .await
            .1
            >= 5
    })
    .await;

    // A 202 means stored: killed the moment it answers, analytics has the batch nowhere but in
    // JetStream (not yet in ClickHouse, perhaps half in its memory).
    let analytics = Api::new(topology.url(Service::Analytics));
    let batch: Vec<_> = (0..APP_EVENTS)
        .map(|_| client_event("navigation", "crash-session", json!({"to": "settings"})))
        .collect();
    post_events(&analytics, Some(&pair.ann), &batch)
        .await
        .expect(202);
    topology.kill_service(Service::Analytics).await;
    let at_kill = sender.stored();
    wait_until("messages sent while analytics is dead", WAIT, || async {
        sender.stored() >= at_kill + 10
    })
    .await;
    topology.start_service(Service::Analytics).await;
    topology.wait_ready(Service::Analytics).await;
    let at_return = sender.stored();
    wait_until("messages sent after the restart", WAIT, || async {
        sender.stored() >= at_return + 10
    })
    .await;
    let sent = sender.stop().await;
    assert!(sent.failures.is_empty(), "{:?}", sent.failures);

    let expected = sent.ids.len() as u64;
    wait_until("every message in ClickHouse", WAIT, || async {
        topology
            .analytics_rows("event_type = 'message.created'")
            .await
            .1
            == expected
    })
    .await;
    // A row written just before the kill may be written again on redelivery (the dedup window
    // was in memory); the table collapses it and the reports never count it twice.
    let merged = topology
        .clickhouse
        .query(
            "SELECT count() FROM fechatter_analytics.events FINAL \
             WHERE event_type = 'message.created' FORMAT TSV",
        )
        .await;
    assert_eq!(merged.trim(), expected.to_string());
    wait_until("every app event in ClickHouse", WAIT, || async {
        topology.analytics_rows("event_type = 'navigation'").await.1 == APP_EVENTS
    })
    .await;
    assert_eq!(
        topology.analytics_rows("event_type = 'navigation'").await,
        (APP_EVENTS, APP_EVENTS),
        "each app event written once"
    );
    let analytics = Api::new(topology.url(Service::Analytics));
    let messages = report(&analytics, &pair.ann, "messages").await;
    assert_eq!(
        total(&messages, "messages", |_| true),
        expected,
        "{}",
        messages.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_killed_mid_conversation_resumes_indexes_every_message_once_and_answers_once() {
    let topology = Topology::start().await;
    let pair = Pair::meet(&topology).await;
    let sender = Sender::start(pair.api.clone(), pair.ann.clone(), pair.chat, EVERY);
    wait_until("messages indexed before the crash", WAIT, || async {
        pair.api.search(&pair.bob, "ann says").await.len() >= 5
    })
    .await;

    // A question the bot is most likely still working on when it dies.
    // Ann owns the chat: her mention brings the bot in.
    let question = pair.api.send(&pair.ann, pair.chat, "@bot summary").await;
    topology.kill_service(Service::Bot).await;
    let at_kill = sender.stored();
    wait_until("messages sent while the bot is dead", WAIT, || async {
        sender.stored() >= at_kill + 10
    })
    .await;
    topology.start_service(Service::Bot).await;
    topology.wait_ready(Service::Bot).await;
    let at_return = sender.stored();
    wait_until("messages sent after the restart", WAIT, || async {
        sender.stored() >= at_return + 10
    })
    .await;
    let sent = sender.stop().await;
    assert!(sent.failures.is_empty(), "{:?}", sent.failures);

    pair.indexed_exactly(&sent.ids).await;
    let replies = || async {
        pair.api
            .messages(&pair.ann, pair.chat)
            .await
            .into_iter()
            .filter(|m| m["reply_to"] == question)
            .count()
    };
    wait_until("the bot's answer", WAIT, || async { replies().await >= 1 }).await;
    // Everything sent after the question is indexed, so the question's event was handled (and
    // redelivered, if it was in flight) before: a second answer would be there by now.
    assert_eq!(replies().await, 1, "one answer to one question");
}
