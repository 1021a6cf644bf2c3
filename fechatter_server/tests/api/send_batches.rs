//! Plain sends written together (`send_queue`, `repo::sends::batch`): each send of a batch gets
//! the outcome it would have had alone, and the batch's events go out in the order of its ids.

use fechatter_events::{ChatId, ChatType, EventKind, UserId, WorkspaceId};
use fechatter_server::repo::sends::Sent;
use fechatter_server::repo::sends::batch::PlainSend;
use fechatter_server::send_queue::write_together;
use fechatter_server::service::messages::{Plain, plain_send};
use futures::future::join_all;
use serde_json::json;

use crate::common::{TestApp, TestUser};

/// A plain send of `user` to `chat` with its event, as `service::messages` queues it.
fn plain(user: &TestUser, chat: i64, content: &str, key: Option<&str>) -> PlainSend {
    plain_send(
        WorkspaceId(user.workspace_id),
        UserId(user.id),
        ChatId(chat),
        content.to_owned(),
        &Plain {
            chat_type: ChatType::Group,
            sender_is_bot: false,
            integration: None,
            idempotency_key: key,
        },
    )
    .unwrap_or_else(|err| panic!("{err}"))
}

fn member_ids(sent: &Sent) -> Vec<i64> {
    sent.members.iter().map(|(user, _)| user.0).collect()
}

fn written(outcome: &Result<Sent, sqlx::Error>) -> &Sent {
    outcome
        .as_ref()
        .unwrap_or_else(|err| panic!("the send failed: {err}"))
}

#[tokio::test]
async fn each_send_of_a_batch_is_written_or_refused_as_it_would_be_alone_and_its_event_follows_its_id()
 {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let bob = app.member(&ann, "bob").await;
    let eve = app.member(&ann, "eve").await;
    let pair = app.chat(&ann, "group", Some("pair"), &[&bob]).await;
    let other = app.chat(&ann, "group", Some("other"), &[&eve]).await;
    let earlier = app
        .send_request(
            app.client
                .post(app.url(&format!("/api/chats/{pair}/messages")))
                .bearer_auth(&bob.token)
                .header("Idempotency-Key", "earlier")
                .json(&json!({"content": "sent before the batch"})),
        )
        .await;
    earlier.expect(201);
    let mut seen = app.published_events().await.len();
    let before = app.count("SELECT count(*) FROM messages").await;

    let outcomes = write_together(
        &app.pool,
        vec![
            plain(&bob, pair, "one", None),
            plain(&eve, pair, "an outsider's", None),
            plain(&eve, other, "two", Some("k1")),
            plain(&ann, pair, "three", None),
            plain(&eve, other, "two again, same key", Some("k1")),
            plain(&bob, pair, "the earlier key again", Some("earlier")),
        ],
    )
    .await;

    assert_eq!(outcomes.len(), 6);
    let sent: Vec<&Sent> = outcomes.iter().map(written).collect();
    for (index, expected) in [
        vec![ann.id, bob.id],
        vec![ann.id, bob.id],
        vec![ann.id, eve.id],
        vec![ann.id, bob.id],
        vec![ann.id, eve.id],
        vec![ann.id, bob.id],
    ]
    .into_iter()
    .enumerate()
    {
        let mut expected = expected;
        expected.sort_unstable();
        assert_eq!(
            member_ids(sent[index]),
            expected,
            "members seen by send {index}"
        );
    }
    let rows: Vec<Option<(i64, String)>> = sent
        .iter()
        .map(|sent| sent.row.as_ref().map(|row| (row.id.0, row.content.clone())))
        .collect();
    let ids: Vec<i64> = rows.iter().flatten().map(|(id, _)| *id).collect();
    assert_eq!(
        rows.iter()
            .map(|row| row.as_ref().map(|(_, text)| text.as_str()))
            .collect::<Vec<_>>(),
        vec![Some("one"), None, Some("two"), Some("three"), None, None],
        "the outsider and both reused keys write nothing"
    );
    assert!(
        ids.windows(2).all(|pair| pair[0] < pair[1]),
        "ids follow the queue: {ids:?}"
    );
    assert_eq!(app.count("SELECT count(*) FROM messages").await, before + 3);

    let events = app.new_events(&mut seen).await;
    let published: Vec<(i64, Vec<i64>)> = events
        .iter()
        .map(|event| {
            assert_eq!(event.kind, EventKind::MessageCreated);
            let mut recipients: Vec<i64> = event.recipients.iter().map(|user| user.0).collect();
            recipients.sort_unstable();
            (event.data["id"].as_i64().unwrap_or_default(), recipients)
        })
        .collect();
    let mut pair_members = vec![ann.id, bob.id];
    pair_members.sort_unstable();
    let mut other_members = vec![ann.id, eve.id];
    other_members.sort_unstable();
    assert_eq!(
        published,
        vec![
            (ids[0], pair_members.clone()),
            (ids[1], other_members),
            (ids[2], pair_members),
        ]
    );
    for (event, row) in events
        .iter()
        .zip(sent.iter().filter_map(|sent| sent.row.as_ref()))
    {
        assert_eq!(
            event.data["created_at"],
            serde_json::to_value(row.created_at).unwrap_or_default(),
            "the event's time is the row's"
        );
    }
}

#[tokio::test]
async fn a_send_postgres_refuses_fails_alone_and_the_rest_of_its_batch_is_written() {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let bob = app.member(&ann, "bob").await;
    let chat = app.chat(&ann, "group", None, &[&bob]).await;
    let before = app.count("SELECT count(*) FROM messages").await;

    // Postgres text cannot hold a NUL: the batch's statement fails as a whole.
    let outcomes = write_together(
        &app.pool,
        vec![
            plain(&bob, chat, "fine", None),
            plain(&bob, chat, "a NUL \0 byte", None),
            plain(&ann, chat, "also fine", None),
        ],
    )
    .await;

    let contents: Vec<Option<String>> = outcomes
        .iter()
        .map(|outcome| {
            outcome
                .as_ref()
                .ok()
                .and_then(|sent| sent.row.as_ref().map(|row| row.content.clone()))
        })
        .collect();
    assert_eq!(
        contents,
        vec![Some("fine".to_owned()), None, Some("also fine".to_owned())]
    );
    assert!(outcomes[1].is_err(), "the refused send reports its error");
    assert_eq!(app.count("SELECT count(*) FROM messages").await, before + 2);
}

#[tokio::test]
async fn fifty_members_sending_at_once_each_get_their_own_message_and_events_go_out_in_id_order() {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let mut members = Vec::new();
    for n in 0..9 {
        members.push(app.member(&ann, &format!("member{n}")).await);
    }
    let everyone: Vec<&TestUser> = members.iter().collect();
    let chat = app.chat(&ann, "group", Some("busy"), &everyone).await;
    let mut seen = app.published_events().await.len();

    let (app, members) = (&app, &members);
    let sends = (0..50).map(|n| {
        let user = &members[n % members.len()];
        let text = format!("message {n} from {}", user.handle);
        async move {
            let reply = app
                .post(
                    Some(user),
                    &format!("/api/chats/{chat}/messages"),
                    json!({"content": text}),
                )
                .await;
            reply.expect(201);
            assert_eq!(
                reply.body["content"],
                json!(text),
                "a reply carries its own message"
            );
            assert_eq!(reply.body["sender_id"], json!(user.id));
            reply.id()
        }
    });
    let mut replied: Vec<i64> = join_all(sends).await;

    let published: Vec<i64> = app
        .new_events(&mut seen)
        .await
        .iter()
        .map(|event| event.data["id"].as_i64().unwrap_or_default())
        .collect();
    replied.sort_unstable();
    assert_eq!(published, replied, "each message's event once, in id order");
}

#[tokio::test]
async fn with_postgres_out_of_reach_every_send_of_a_batch_fails_at_once_as_unavailable() {
    let acquire = std::time::Duration::from_millis(500);
    // Nothing listens on port 1: every connection attempt fails until the pool gives up.
    let pool = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(acquire)
        .connect_lazy("postgres://fechatter@127.0.0.1:1/fechatter")
        .unwrap_or_else(|err| panic!("{err}"));
    let sends = (0..4)
        .map(|n| {
            plain_send(
                WorkspaceId(1),
                UserId(1),
                ChatId(1),
                format!("message {n}"),
                &Plain {
                    chat_type: ChatType::Group,
                    sender_is_bot: false,
                    integration: None,
                    idempotency_key: None,
                },
            )
            .unwrap_or_else(|err| panic!("{err}"))
        })
        .collect();

    let started = std::time::Instant::now();
    let outcomes = tokio::time::timeout(crate::common::WAIT, write_together(&pool, sends))
        .await
        .unwrap_or_else(|_| panic!("the batch did not give up"));

    assert_eq!(outcomes.len(), 4);
    for outcome in &outcomes {
        let err = outcome
            .as_ref()
            .err()
            .unwrap_or_else(|| panic!("a send succeeded"));
        assert!(postgres_kit::is_unavailable(err), "{err}");
    }
    // One wait for a connection for the batch, not one per send.
    assert!(
        started.elapsed() < acquire * 2,
        "took {:?}",
        started.elapsed()
    );
}
