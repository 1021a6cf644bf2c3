//! Postgres stops while the bot has work in hand: the work waits for it in hand (no delivery
//! spent, nothing dead-lettered, the bot not ready meanwhile), and when Postgres is back
//! everything is indexed and the question being answered is answered once, with one call to the
//! language model.

use std::time::Duration;

use chrono::Utc;
use fechatter_events::payload::MessagePayload;
use fechatter_events::{EventId, EventKind};
use test_support::wait_until;

use crate::support::model::{ANSWER, Model};
use crate::support::{Stack, StackOptions, WAIT};

/// Far beyond what the old policy needed to give up on an event (two deliveries, a second apart).
const OUTAGE: Duration = Duration::from_secs(6);

#[tokio::test]
async fn a_postgres_outage_is_waited_out_without_dead_letters_or_a_second_call_to_the_model() {
    let model = Model::start(Duration::ZERO).await;
    let mut bot_env = model.env();
    bot_env.extend([
        ("CONSUMER_MAX_DELIVER", "2".to_owned()),
        ("CONSUMER_ACK_WAIT_MS", "1000".to_owned()),
    ]);
    let stack = Stack::start_with(StackOptions {
        bot_env,
        dedicated_postgres: true,
        ..StackOptions::default()
    })
    .await;
    let ann = stack.owner("ann", "Acme").await;
    let bot = stack.bot_of(&ann).await;
    let chat = stack.chat(&ann, "group", Some("ops"), &[]).await;
    let mut sent = Vec::new();
    for n in 0..8 {
        sent.push(stack.send(&ann, chat, &format!("plain words {n}")).await);
    }
    stack.wait_for_search_all(&ann, "q=plain", &sent).await;

    // The model is holding the answer to a question when Postgres stops.
    model.hold();
    let question = stack
        .send(&ann, chat, "@bot which plain words were said?")
        .await;
    wait_until("the model to be asked", WAIT, || async {
        model.calls() == 1
    })
    .await;
    let postgres = stack
        .postgres
        .as_ref()
        .unwrap_or_else(|| panic!("a dedicated Postgres"));
    postgres.stop().await;

    // Edits committed just before the stop, on their way to the bot.
    let created: Vec<_> = stack
        .stream_events()
        .await
        .into_iter()
        .filter(|event| event.kind == EventKind::MessageCreated)
        .filter_map(|event| {
            let payload: MessagePayload = event.payload().ok()?;
            sent.contains(&payload.id.0).then_some((event, payload))
        })
        .collect();
    assert_eq!(created.len(), sent.len());
    for (event, mut payload) in created {
        payload.content = format!("edited during the outage {}", payload.id);
        payload.edited_at = Some(Utc::now());
        let mut edit = event.clone();
        edit.id = EventId::generate();
        edit.kind = EventKind::MessageUpdated;
        edit.data = serde_json::to_value(&payload).unwrap_or_default();
        stack
            .publish(
                stack.bus.subject(EventKind::MessageUpdated),
                edit.to_json().unwrap_or_default(),
            )
            .await;
    }
    stack
        .wait_for_metric(
            "bot_nats_events_received_total",
            &[("event", "message.updated")],
            1.0,
        )
        .await;
    model.release();
    tokio::time::sleep(OUTAGE).await;
    let ready = stack
        .client
        .get(format!("{}/ready", stack.bot().base))
        .send()
        .await
        .map(|response| response.status().as_u16())
        .unwrap_or_default();
    assert_eq!(ready, 503, "not ready while Postgres is down");
    assert!(
        stack.dead_letters(&Default::default()).await.is_empty(),
        "nothing is dead-lettered while Postgres is down"
    );

    postgres.start().await;
    // The edits exist only as events (search itself checks hits against the messages as stored),
    // so the index is read directly.
    wait_until("every edit in the index", WAIT, || async {
        let indexed: Option<i64> = sqlx::query_scalar(
            "SELECT count(*) FROM search_documents
             WHERE message_id = ANY($1) AND content LIKE 'edited during the outage %'",
        )
        .bind(&sent)
        .fetch_one(&stack.pool)
        .await
        .ok();
        indexed == Some(sent.len() as i64)
    })
    .await;
    let reply = stack.reply_to(&ann, chat, bot, question).await;
    assert!(reply.starts_with(ANSWER), "{reply}");
    let replies = stack
        .bot_messages(&ann, chat, bot)
        .await
        .into_iter()
        .filter(|message| message["reply_to"] == question)
        .count();
    assert_eq!(replies, 1, "one answer");
    assert_eq!(model.calls(), 1, "the model was asked once");
    assert!(stack.dead_letters(&Default::default()).await.is_empty());
    for reason in ["malformed", "failed"] {
        assert_eq!(
            stack
                .metric("bot_events_dead_lettered_total", &[("reason", reason)])
                .await,
            0.0
        );
    }
}
