//! Every workspace gets its bot: a new one from its `user.signed_up` event, one that existed before
//! the bot's consumer (or whose event left the stream) when bot_server starts.

use crate::support::{Stack, StackOptions};

async fn bots_in(stack: &Stack, workspace: i64) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM users WHERE workspace_id = $1 AND is_bot")
        .bind(workspace)
        .fetch_one(&stack.pool)
        .await
        .unwrap_or_else(|err| panic!("{err}"))
}

#[tokio::test]
async fn a_new_workspace_gets_its_bot_and_one_that_had_none_gets_it_when_the_bot_starts() {
    let mut stack = Stack::start_with(StackOptions {
        defer_bot: true,
        ..StackOptions::default()
    })
    .await;
    // A workspace written without any event, as if from before the bot existed.
    let legacy: i64 =
        sqlx::query_scalar("INSERT INTO workspaces (name) VALUES ('Legacy') RETURNING id")
            .fetch_one(&stack.pool)
            .await
            .unwrap_or_else(|err| panic!("{err}"));
    stack.start_bot().await;
    test_support::wait_until(
        "the legacy workspace's bot",
        crate::support::WAIT,
        || async { bots_in(&stack, legacy).await == 1 },
    )
    .await;

    let ann = stack.owner("ann", "Acme").await;
    let bot = stack.bot_of(&ann).await;
    let bob = stack.member(&ann, "bob").await;
    // Bob's sign-up joined a workspace: it gets no second bot, and Bob sees the same one.
    assert_eq!(stack.bot_of(&bob).await, bot);
    assert_eq!(bots_in(&stack, ann.workspace_id).await, 1);
}
