//! Cat shares a file in #general; bob, in the browser, follows over the WebSocket: he sees it
//! pushed, downloads it, types (everyone else's devices show it), answers (a retry of the same
//! command is not a second message) and marks it read. A draft cat never sends is swept away.

use e2e::api::Api;
use e2e::sse::{envelope_belongs_to, message_ids};
use e2e::ws::Ws;
use e2e::{Service, Topology};
use serde_json::json;
use test_support::wait_until;

use crate::WAIT;
use crate::chat::{Told, assert_only_for};

const CHECKLIST: &[u8] = b"launch checklist\n- tests green\n- dashboards green\n";

pub async fn share_and_answer(topology: &Topology, told: &mut Told) {
    let fechatter = topology.url(Service::Fechatter);
    let api = Api::new(&fechatter);
    let (ann, bob, cat, zed) = (
        &told.cast.ann,
        &told.cast.bob,
        &told.cast.cat,
        &told.cast.zed,
    );
    let general = told.chats.general;
    let mut browser = Ws::connect(&fechatter, &bob.access_token).await;
    // A fresh socket gets the events after the position its reader stands at once it is caught up
    // (fechatter_push's `replay`), which the `connected` frame marks, not after the handshake.
    browser.frame(|frame| frame["type"] == "connected").await;

    let upload = api.upload(cat, "checklist.txt", CHECKLIST).await;
    upload.expect(201);
    let file = upload.id();
    let shared = api
        .post(
            Some(&cat.access_token),
            &format!("/api/chats/{general}/messages"),
            json!({"content": "the checklist", "files": [file]}),
        )
        .await;
    shared.expect(201);
    let shared = shared.id();
    let pushed = browser.message_frame(shared).await;
    let shared_at = pushed["cursor"].as_str().unwrap_or_default().to_owned();
    let pushed = &pushed["event"];
    assert_eq!(pushed["data"]["files"], json!([file]), "{pushed}");
    assert_eq!(api.download(bob, file).await, (200, CHECKLIST.to_vec()));
    assert_eq!(api.download(zed, file).await.0, 404);

    let members = [ann.id, cat.id];
    for device in told
        .devices
        .iter_mut()
        .filter(|d| members.contains(&d.user))
    {
        device.sse.until_message(shared, WAIT).await;
    }
    let typing = browser
        .command(json!({"type": "typing", "chat_id": general}))
        .await;
    assert_eq!(typing["result"]["published"], true, "{typing}");
    for device in told
        .devices
        .iter_mut()
        .filter(|d| members.contains(&d.user))
    {
        let (passed, signal) = device.sse.until_signal("typing", WAIT).await;
        assert!(passed.is_empty(), "{}: {passed:?}", device.name);
        assert_eq!(
            (&signal["chat_id"], &signal["user_id"]),
            (&json!(general), &json!(bob.id)),
            "{}: {signal}",
            device.name
        );
    }

    let answer = json!({"type": "send_message", "chat_id": general, "content": "checked, all green",
                        "reply_to": shared, "idempotency_key": "bob-checklist-answer"});
    let sent = browser.command(answer.clone()).await;
    assert_eq!(sent["type"], "ack", "{sent}");
    let reply = sent["result"]["message"]["id"].as_i64().unwrap_or_default();
    let retried = browser.command(answer).await;
    assert_eq!(
        (
            &retried["result"]["message"]["id"],
            &retried["result"]["replayed"]
        ),
        (&json!(reply), &json!(true)),
        "a retried command returns the original: {retried}"
    );
    for device in told
        .devices
        .iter_mut()
        .filter(|d| members.contains(&d.user))
    {
        let events = device.sse.until_message(reply, WAIT).await;
        assert_only_for(device.name, device.user, &device.chats, &events);
        assert_eq!(message_ids(&events), vec![reply], "{}: once", device.name);
    }
    let read = browser
        .command(json!({"type": "mark_read", "chat_id": general, "message_id": reply}))
        .await;
    assert_eq!(read["result"]["last_read_message_id"], reply, "{read}");
    // The socket carried bob's events only, his answer and read among them. They come from the
    // socket's own reader of the stream, in no order with the acks: each is waited for.
    let answered = browser.message_event(reply).await;
    let marked = browser
        .frame(|frame| {
            frame["type"] == "event"
                && frame["event"]["kind"] == "chat.read"
                && frame["event"]["actor_id"] == bob.id
        })
        .await["event"]
        .clone();
    assert_eq!(
        (&marked["chat_id"], &marked["data"]["last_read_message_id"]),
        (&json!(general), &json!(reply)),
        "{marked}"
    );
    let mut pushed = browser.unread_events();
    pushed.extend([answered, marked]);
    let bobs_chats = told
        .devices
        .iter()
        .find(|d| d.user == bob.id)
        .map(|d| d.chats.clone())
        .unwrap_or_default();
    for event in pushed {
        assert!(
            envelope_belongs_to(&event, bob.id, &bobs_chats),
            "bob's socket got {event}"
        );
        assert!(
            event.get("recipients").is_none(),
            "routing metadata pushed: {event}"
        );
    }

    // The browser reloads with the cursor of the shared file's event: the answer comes again
    // (sent since), the shared file does not.
    let mut reloaded = Ws::connect_resuming(&fechatter, &bob.access_token, &shared_at).await;
    reloaded.message_event(reply).await;
    let replayed = reloaded.unread_events();
    assert!(
        replayed.iter().all(|event| event["data"]["id"] != shared),
        "the event before the cursor came again: {replayed:?}"
    );
    *told.messages.entry(("ann", "public_channel")).or_default() += 2;

    // Last, as its `file.uploaded` reaches cat's devices: a draft cat uploads and never sends is
    // forgotten by the file sweep after its grace period, and the shared file stays.
    let draft = api.upload(cat, "draft.txt", b"never sent\n").await;
    draft.expect(201);
    let draft = draft.id();
    wait_until("the sweep to forget the unsent draft", WAIT, || async {
        api.download(cat, draft).await.0 == 404
    })
    .await;
    assert_eq!(
        api.download(bob, file).await.0,
        200,
        "the shared file stays"
    );
}
