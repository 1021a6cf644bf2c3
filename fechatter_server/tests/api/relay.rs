//! When the relay publishes: at once after this instance's commit, soon after another relay lets go
//! of the lock it held while the event committed, and at the next poll when nothing woke it; and a
//! backlog larger than a batch goes out exactly once, in commit order.

use fechatter_events::payload::MessagePayload;
use fechatter_events::{Envelope, EventId, EventKind, UserId, WorkspaceId};
use fechatter_server::repo::outbox::RELAY_LOCK;
use serde_json::json;

use crate::common::{AppOptions, TestApp, WAIT};

/// A poll far beyond the test's bounded waits (15 s): only a wake-up or a retry can explain an
/// event leaving the outbox.
fn no_poll() -> Vec<(&'static str, String)> {
    vec![("OUTBOX_POLL_INTERVAL_MS", "60000".to_owned())]
}

/// The test plays another instance's relay: the relay lock, held until the transaction ends.
async fn hold_relay_lock(app: &TestApp) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut other_relay = app
        .pool
        .begin()
        .await
        .unwrap_or_else(|err| panic!("begin: {err}"));
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(RELAY_LOCK)
        .execute(&mut *other_relay)
        .await
        .unwrap_or_else(|err| panic!("taking the relay lock: {err}"));
    other_relay
}

#[tokio::test]
async fn an_event_committed_while_another_relay_holds_the_lock_goes_out_once_it_is_released() {
    let app = TestApp::spawn_with(AppOptions {
        env: no_poll(),
        ..AppOptions::default()
    })
    .await;
    let ann = app.owner("ann", "Acme").await;
    let chat = app.chat(&ann, "group", Some("locked"), &[]).await;
    let before = app.published_events().await.len();

    // The test plays the other instance's relay: it holds the lock while the send commits, so the
    // app's relay, woken by its own commit, finds the lock taken.
    let other_relay = hold_relay_lock(&app).await;
    let sent = app
        .send(&ann, chat, "committed under the other relay")
        .await;
    assert_eq!(
        app.count("SELECT count(*) FROM outbox").await,
        1,
        "the event waits while the lock is held"
    );
    other_relay
        .commit()
        .await
        .unwrap_or_else(|err| panic!("releasing the relay lock: {err}"));

    let events = app.published_events().await;
    let delivered: Vec<i64> = events[before..]
        .iter()
        .map(|event| {
            assert_eq!(event.kind, EventKind::MessageCreated);
            event
                .payload::<MessagePayload>()
                .map(|message| message.id.0)
                .unwrap_or_else(|err| panic!("{err}"))
        })
        .collect();
    assert_eq!(delivered, vec![sent]);
}

#[tokio::test]
async fn an_event_no_commit_of_this_instance_announced_goes_out_at_the_next_poll() {
    let app = TestApp::spawn_with(AppOptions {
        env: vec![("OUTBOX_POLL_INTERVAL_MS", "200".to_owned())],
        ..AppOptions::default()
    })
    .await;
    let before = app.published_events().await.len();
    // Written straight into the table, as by a process that stopped between its commit and the
    // wake-up: nothing wakes the relay.
    let envelope = Envelope::unchecked(
        EventKind::ChatRead,
        WorkspaceId(1),
        None,
        Some(UserId(1)),
        vec![UserId(1)],
        &json!({"written": "behind the relay's back"}),
    )
    .unwrap_or_else(|err| panic!("{err}"));
    insert_behind_the_relay(&app.pool, &envelope).await;

    let events = app.published_events().await;
    let ids: Vec<_> = events[before..].iter().map(|event| event.id).collect();
    assert_eq!(ids, vec![envelope.id]);
}

#[tokio::test]
async fn hundreds_of_events_committed_at_once_reach_jetstream_exactly_once_in_commit_order() {
    // Two batches, the first full: the relay pipelines 250 publishes, then the remaining 150.
    let app = TestApp::spawn_with(AppOptions {
        env: vec![("OUTBOX_BATCH_SIZE", "250".to_owned())],
        ..AppOptions::default()
    })
    .await;
    let before = app.published_events().await.len();
    let envelopes: Vec<Envelope> = (0..400)
        .map(|n| {
            Envelope::unchecked(
                EventKind::ChatRead,
                WorkspaceId(1),
                None,
                Some(UserId(1)),
                vec![UserId(1)],
                &json!({ "n": n }),
            )
            .unwrap_or_else(|err| panic!("{err}"))
        })
        .collect();
    let mut tx = app
        .pool
        .begin()
        .await
        .unwrap_or_else(|err| panic!("begin: {err}"));
    for envelope in &envelopes {
        insert_behind_the_relay(&mut *tx, envelope).await;
    }
    tx.commit()
        .await
        .unwrap_or_else(|err| panic!("commit: {err}"));

    let events = app.published_events().await;
    let published: Vec<_> = events[before..].iter().map(|event| event.id).collect();
    let committed: Vec<_> = envelopes.iter().map(|envelope| envelope.id).collect();
    assert_eq!(published.len(), committed.len(), "each event stored once");
    assert_eq!(published, committed, "stream order is commit order");
}

/// Writes an event straight into the outbox, as another process would: nothing wakes the relay.
async fn insert_behind_the_relay(db: impl sqlx::PgExecutor<'_>, envelope: &Envelope) {
    let body = String::from_utf8(envelope.to_json().unwrap_or_else(|err| panic!("{err}")))
        .unwrap_or_else(|err| panic!("{err}"));
    sqlx::query("INSERT INTO outbox (event_id, kind, envelope) VALUES ($1::uuid, $2, $3::jsonb)")
        .bind(envelope.id.to_string())
        .bind(envelope.kind.as_str())
        .bind(body)
        .execute(db)
        .await
        .unwrap_or_else(|err| panic!("inserting into the outbox: {err}"));
}

/// Commits that finish in an order of their own: a constraint trigger that runs at commit time
/// holds the commit of a message reading `first` for a second, and logs the order in which the
/// outbox rows reach their commit.
const SLOW_FIRST_COMMIT: &[&str] = &[
    "CREATE TABLE commit_log (n BIGSERIAL PRIMARY KEY, event_id UUID NOT NULL)",
    "CREATE FUNCTION slow_first_commit() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
         IF NEW.envelope->'data'->>'content' = 'first' THEN PERFORM pg_sleep(1); END IF;
         INSERT INTO commit_log (event_id) VALUES (NEW.event_id);
         RETURN NULL;
     END $$",
    "CREATE CONSTRAINT TRIGGER slow_first_commit AFTER INSERT ON outbox
     DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_first_commit()",
];

#[tokio::test]
async fn two_concurrent_sends_in_one_chat_reach_jetstream_in_the_order_they_commit() {
    let app = TestApp::spawn_with(AppOptions {
        env: no_poll(),
        ..AppOptions::default()
    })
    .await;
    let ann = app.owner("ann", "Acme").await;
    let chat = app.chat(&ann, "group", Some("ordered"), &[]).await;
    let before = app.published_events().await.len();
    for statement in SLOW_FIRST_COMMIT {
        sqlx::query(statement)
            .execute(&app.pool)
            .await
            .unwrap_or_else(|err| panic!("{statement}: {err}"));
    }
    // The relay waits until both sends are done, so it sees both rows at once and cannot follow
    // the commits by accident, one row at a time.
    let other_relay = hold_relay_lock(&app).await;

    // The first send inserts and is held at its commit; the second starts meanwhile.
    let (first, second) = tokio::join!(app.send(&ann, chat, "first"), async {
        test_support::wait_until("the first send to reach its commit", WAIT, || async {
            app.count("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'")
                .await
                == 1
        })
        .await;
        app.send(&ann, chat, "second").await
    });
    other_relay
        .commit()
        .await
        .unwrap_or_else(|err| panic!("releasing the relay lock: {err}"));

    let committed: Vec<EventId> = sqlx::query_scalar("SELECT event_id FROM commit_log ORDER BY n")
        .fetch_all(&app.pool)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    let events = app.published_events().await;
    let published: Vec<EventId> = events[before..].iter().map(|event| event.id).collect();
    assert_eq!(published, committed, "stream order is commit order");
    let messages: Vec<i64> = events[before..]
        .iter()
        .map(|event| {
            event
                .payload::<MessagePayload>()
                .map(|message| message.id.0)
                .unwrap_or_else(|err| panic!("{err}"))
        })
        .collect();
    assert_eq!(messages, [first, second], "and message order");
}
