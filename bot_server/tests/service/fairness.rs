//! One workspace floods its bot with questions (the model takes half a second for each) while
//! another chats: the other workspace's messages are indexed as fast as ever, and its own
//! question is answered without waiting for the flood.

use std::time::Duration;

use futures::StreamExt;

use crate::support::model::Model;
use crate::support::{Stack, StackOptions};

const QUESTIONS: usize = 200;
const CHATTER: usize = 30;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workspace_asking_its_bot_200_questions_does_not_delay_another_workspaces_indexing() {
    let model = Model::start(Duration::from_millis(500)).await;
    let stack = Stack::start_with(StackOptions {
        bot_env: model.env(),
        ..StackOptions::default()
    })
    .await;
    let ann = stack.owner("ann", "Acme").await;
    let bea = stack.owner("bea", "Beta").await;
    let (_, beta_bot) = tokio::join!(stack.bot_of(&ann), stack.bot_of(&bea));
    let flood = stack.chat(&ann, "group", Some("flood"), &[]).await;
    let quiet = stack.chat(&bea, "group", Some("quiet"), &[]).await;
    stack
        .send(&ann, flood, "the release train leaves on Friday")
        .await;

    let asking = async {
        futures::stream::iter(0..QUESTIONS)
            .for_each_concurrent(4, |n| {
                let (stack, ann) = (&stack, &ann);
                async move {
                    stack
                        .send(
                            ann,
                            flood,
                            &format!("@bot when does the release train leave? #{n}"),
                        )
                        .await;
                }
            })
            .await;
    };
    let chatting = async {
        let mut sent = Vec::with_capacity(CHATTER);
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        for n in 0..CHATTER {
            tick.tick().await;
            sent.push(
                stack
                    .send(&bea, quiet, &format!("ordinary chatter {n}"))
                    .await,
            );
        }
        let asked = stack.send(&bea, quiet, "@bot summary").await;
        (sent, asked)
    };
    let ((), (chatter, asked)) = tokio::join!(asking, chatting);

    stack.wait_for_search_all(&bea, "q=chatter", &chatter).await;
    // The other workspace's question does not queue behind the flood.
    stack.reply_to(&bea, quiet, beta_bot, asked).await;
    let answered = stack
        .metric("bot_agent_requests_total", &[("result", "answered")])
        .await;
    assert!(
        answered < QUESTIONS as f64,
        "answered only after the whole flood ({answered} answers)"
    );

    let lags: Vec<f64> = sqlx::query_scalar(
        "SELECT EXTRACT(EPOCH FROM d.indexed_at - m.created_at)::float8
         FROM search_documents d JOIN messages m ON m.id = d.message_id
         WHERE d.message_id = ANY($1) ORDER BY 1",
    )
    .bind(&chatter)
    .fetch_all(&stack.pool)
    .await
    .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(lags.len(), CHATTER);
    let p99 = lags[(lags.len() * 99).div_ceil(100) - 1];
    assert!(
        p99 <= 2.0,
        "indexing lag p99 {p99:.3} s (all, sorted: {lags:?})"
    );
}
