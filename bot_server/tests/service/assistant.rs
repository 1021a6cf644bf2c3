//! The assistant answers in chats from their own history, offline (no language model configured):
//! only when asked, never to a bot.

use crate::support::{Stack, StackOptions};

const NO_LLM: &str = "No language model is configured";

#[tokio::test]
async fn the_bot_answers_search_summary_and_questions_from_the_chat_history_only_when_asked() {
    // One question at a time, so a later answer proves the earlier questions were handled.
    let stack = Stack::start_with(StackOptions {
        bot_env: vec![("CONSUMER_CONCURRENCY", "1".to_owned())],
        ..StackOptions::default()
    })
    .await;
    let ann = stack.owner("ann", "Acme").await;
    let bob = stack.member(&ann, "bob").await;
    let bot = stack.bot_of(&ann).await;
    let chat = stack.chat(&ann, "group", Some("ops"), &[bob.id]).await;
    let friday = "The deployment is scheduled for Friday at noon";
    let pizza = "Lunch is pizza today";
    let notes = "Remember to update the release notes";
    let deployment = stack.send(&ann, chat, friday).await;
    let lunch = stack.send(&bob, chat, pizza).await;
    let reminder = stack.send(&ann, chat, notes).await;
    // The assistant answers from the search index, which another consumer fills: ask once the
    // history is indexed, or an answer may fairly miss a message sent a moment before.
    stack
        .wait_for_search(&ann, "q=deployment", &[deployment])
        .await;
    stack.wait_for_search(&ann, "q=pizza", &[lunch]).await;
    stack.wait_for_search(&ann, "q=release", &[reminder]).await;

    // The owner's mention brings the bot in (a plain member's would not: only those who may add
    // members do); from then on anyone in the chat can ask it.
    let asked = stack.send(&ann, chat, "@bot search deployment").await;
    let reply = stack.reply_to(&bob, chat, bot, asked).await;
    assert!(reply.contains(friday), "{reply}");
    assert!(
        reply.contains(&format!("/chats/{chat}/messages/{deployment}")),
        "{reply}"
    );
    assert!(!reply.contains(pizza), "{reply}");

    let asked = stack
        .send(&ann, chat, "@bot when is the deployment scheduled?")
        .await;
    let reply = stack.reply_to(&ann, chat, bot, asked).await;
    assert!(reply.contains(friday) && reply.contains(NO_LLM), "{reply}");

    let asked = stack.send(&bob, chat, "@bot summary").await;
    let reply = stack.reply_to(&bob, chat, bot, asked).await;
    for text in [friday, pizza, notes] {
        assert!(reply.contains(text), "{text} missing from {reply}");
    }
    assert!(reply.contains(NO_LLM), "{reply}");

    // Not asked: no answer. The next answer proves the bot got past it.
    let chatter = stack.send(&ann, chat, "thanks everyone").await;
    let asked = stack.send(&ann, chat, "@bot help").await;
    stack.reply_to(&ann, chat, bot, asked).await;
    // The bot never answers a bot, itself included.
    let as_bot = stack.bot_user(ann.workspace_id, bot).await;
    let own = stack.send(&as_bot, chat, "@bot summary").await;
    let asked = stack.send(&bob, chat, "@bot help").await;
    stack.reply_to(&bob, chat, bot, asked).await;
    let replies_to: Vec<i64> = stack
        .bot_messages(&ann, chat, bot)
        .await
        .iter()
        .filter_map(|message| message["reply_to"].as_i64())
        .collect();
    assert_eq!(
        replies_to.len(),
        5,
        "one reply per question: {replies_to:?}"
    );
    assert!(!replies_to.contains(&chatter) && !replies_to.contains(&own));
    // An answer is counted after it is posted: the last reply may show before its count.
    stack
        .wait_for_metric("bot_agent_requests_total", &[("result", "answered")], 5.0)
        .await;
    assert_eq!(
        stack
            .metric("bot_agent_requests_total", &[("result", "answered")])
            .await,
        5.0
    );

    // A direct chat with the bot needs no mention.
    let direct = stack.chat(&ann, "direct", None, &[bot]).await;
    let asked = stack.send(&ann, direct, "what did we decide?").await;
    let reply = stack.reply_to(&ann, direct, bot, asked).await;
    assert!(reply.contains(NO_LLM), "{reply}");
    // A chat between two people stays theirs: the bot is not added and does not answer there.
    let pair = stack.chat(&ann, "direct", None, &[bob.id]).await;
    stack.send(&ann, pair, "@bot search deployment").await;
    let asked = stack.send(&ann, direct, "@bot help").await;
    stack.reply_to(&ann, direct, bot, asked).await;
    assert!(stack.bot_messages(&ann, pair, bot).await.is_empty());
}
