//! Ann asks the workspace's assistant in #general: the bot joins, reads the chat, asks the model,
//! and its reply reaches every member's devices live, and no one else's.

use e2e::api::Api;
use e2e::llm::{ANSWER, LlmMock};
use e2e::sse::message_ids;
use e2e::{Service, Topology};
use test_support::wait_until;

use crate::WAIT;
use crate::chat::{Told, assert_only_for};

pub async fn ask(topology: &Topology, told: &mut Told, model: &LlmMock) {
    let api = Api::new(topology.url(Service::Fechatter));
    let (ann, bob, cat, zed) = (
        &told.cast.ann,
        &told.cast.bob,
        &told.cast.cat,
        &told.cast.zed,
    );
    // The bot answers from what it has indexed, and a mention brings in only a bot that exists:
    // bot_server creates Acme's bot on ann's `user.signed_up` and indexes on its consumer `bot`,
    // while its consumer `bot_assistant` answers on its own, in no order with either.
    wait_until(
        "Acme's bot to exist and cat's message to be indexed",
        WAIT,
        || async {
            let directory = api.get(Some(&ann.access_token), "/api/users").await;
            directory.expect(200);
            directory
                .items()
                .iter()
                .any(|user| user["is_bot"] == true && user["handle"] == "bot")
                && api.search(ann, "hello from cat").await == [told.said.hello]
        },
    )
    .await;
    let question = api
        .send(ann, told.chats.general, "@bot what did cat say?")
        .await;
    let members = [ann.id, bob.id, cat.id];
    for device in told
        .devices
        .iter_mut()
        .filter(|d| members.contains(&d.user))
    {
        let events = device
            .sse
            .until("the bot's reply", WAIT, |d| {
                d.envelope["data"]["reply_to"] == question
                    && d.envelope["data"]["sender_is_bot"] == true
            })
            .await;
        assert_only_for(device.name, device.user, &device.chats, &events);
        assert!(message_ids(&events).contains(&question), "{}", device.name);
        let reply = events[events.len() - 1].envelope["data"]["content"]
            .as_str()
            .unwrap_or_default();
        assert!(
            reply.starts_with(ANSWER) && reply.contains("Sources:"),
            "{}: the model's answer with its sources: {reply}",
            device.name
        );
    }
    assert!(
        model
            .prompts()
            .iter()
            .any(|prompt| prompt.contains("hello from cat")),
        "the model was asked with the chat's history: {:?}",
        model.prompts()
    );

    // The reply is in the stream; Globex's devices reach a later message of their own without
    // having seen it.
    let later = api
        .send(zed, told.chats.globex, "meanwhile at globex")
        .await;
    for device in told
        .devices
        .iter_mut()
        .filter(|d| !members.contains(&d.user))
    {
        let events = device.sse.until_message(later, WAIT).await;
        assert_only_for(device.name, device.user, &device.chats, &events);
        assert_eq!(message_ids(&events), vec![later], "{}", device.name);
    }
    *told.messages.entry(("ann", "public_channel")).or_default() += 2;
    *told.messages.entry(("zed", "group")).or_default() += 1;
}
