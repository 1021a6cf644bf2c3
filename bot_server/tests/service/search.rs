//! Messages sent over the API become searchable through `GET /api/search`, for their members only.

use crate::support::api::search_query;
use crate::support::{Stack, WAIT};
use test_support::eventually;

#[tokio::test]
async fn a_sent_message_becomes_searchable_by_prefix_phrase_url_dashed_term_and_non_english_words()
{
    let stack = Stack::start().await;
    let ann = stack.owner("ann", "Acme").await;
    let bob = stack.member(&ann, "bob").await;
    let cat = stack.member(&ann, "cat").await;
    let zed = stack.owner("zed", "Globex").await;
    let chat = stack.chat(&ann, "group", Some("ops"), &[bob.id]).await;
    let url = "https://logs.example.com/app/42?tail=1";
    let mut cases = Vec::new();
    for (text, query) in [
        ("The deployment is scheduled for Friday", "deplo"),
        ("Our error budget is burning", "\"error budget\""),
        (&format!("The logs are at {url} today") as &str, url),
        (
            "Every response carries x-request-id for tracing",
            "x-request-id",
        ),
        ("Die Größe der Datei ist zu hoch", "GRÖẞE"),
        ("Привет, команда! Релиз завтра", "привет"),
        ("日本語のテキストを検索する", "テキスト"),
    ] {
        cases.push((stack.send(&ann, chat, text).await, query));
    }
    // Near misses that must not match: the phrase's words apart, the prefix inside a word.
    stack.send(&ann, chat, "An error in the budget sheet").await;
    stack.send(&ann, chat, "We redeployed yesterday").await;

    for (message, query) in &cases {
        stack
            .wait_for_search(&bob, &search_query(query), &[*message])
            .await;
    }
    for outsider in [&cat, &zed] {
        for (_, query) in &cases {
            assert_eq!(
                stack.search_ids(outsider, &search_query(query)).await,
                Vec::<i64>::new(),
                "{query}"
            );
        }
    }
}

#[tokio::test]
async fn an_edit_replaces_the_old_text_within_seconds_and_a_delete_removes_the_message_for_good() {
    let stack = Stack::start().await;
    let ann = stack.owner("ann", "Acme").await;
    let bob = stack.member(&ann, "bob").await;
    let chat = stack
        .chat(&ann, "private_channel", Some("plans"), &[])
        .await;
    let message = stack.send(&ann, chat, "the rollout is on Monday").await;
    stack.wait_for_search(&ann, "q=rollout", &[message]).await;

    stack
        .edit(&ann, chat, message, "the migration is on Tuesday")
        .await;
    stack.wait_for_search(&ann, "q=migration", &[message]).await;
    assert_eq!(stack.search_ids(&ann, "q=rollout").await, Vec::<i64>::new());
    assert_eq!(
        stack.search_ids(&bob, "q=migration").await,
        Vec::<i64>::new()
    );

    stack.delete(&ann, chat, message).await;
    // Search leaves a deleted message out at once, whatever the index lags; the tombstone is the
    // indexer's own work, so it is waited for on its own.
    assert_eq!(
        stack.search_ids(&ann, "q=migration").await,
        Vec::<i64>::new()
    );
    let pool = &stack.pool;
    let content = eventually("the index to keep a tombstone", WAIT, || async move {
        let (content, deleted): (String, bool) = sqlx::query_as(
            "SELECT content, deleted_at IS NOT NULL FROM search_documents WHERE message_id = $1",
        )
        .bind(message)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
        deleted.then_some(content)
    })
    .await;
    assert_eq!(content, "", "a tombstone keeps no text");
}
