//! `GET /api/search` over the index bot_server writes. Here the index rows are written the way
//! bot_server writes them (folded text, offline embedding); bot_server's own tests drive the whole
//! pipeline from sent messages through events to search.

use fechatter_search::HashedNgrams;
use fechatter_search::embedding::DEFAULT_DIMENSIONS;
use fechatter_search::text::search_text;
use serde_json::{Value, json};

use crate::common::metrics::value;
use crate::common::{AppOptions, TestApp, TestUser};

/// Indexes a sent message as bot_server does, with an offline embedding of `embed_as` when given.
async fn index(app: &TestApp, message: i64, embed_as: Option<&str>) {
    let embedder = HashedNgrams::new(DEFAULT_DIMENSIONS).unwrap_or_else(|err| panic!("{err}"));
    let (chat, workspace, sender, content, created_at, version): (
        i64,
        i64,
        i64,
        String,
        chrono::DateTime<chrono::Utc>,
        chrono::DateTime<chrono::Utc>,
    ) = sqlx::query_as(
        "SELECT m.chat_id, c.workspace_id, m.sender_id, m.content, m.created_at,
                coalesce(m.edited_at, m.created_at)
         FROM messages m JOIN chats c ON c.id = m.chat_id WHERE m.id = $1",
    )
    .bind(message)
    .fetch_one(&app.pool)
    .await
    .unwrap_or_else(|err| panic!("{err}"));
    let embedding = embed_as.map(|text| embedder.embed(text));
    sqlx::query(
        "INSERT INTO search_documents (message_id, chat_id, workspace_id, sender_id, content,
             search_text, created_at, version, embedding, embedding_model)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(message)
    .bind(chat)
    .bind(workspace)
    .bind(sender)
    .bind(&content)
    .bind(search_text(&content))
    .bind(created_at)
    .bind(version)
    .bind(&embedding)
    .bind(embedding.as_ref().map(|_| embedder.model()))
    .execute(&app.pool)
    .await
    .unwrap_or_else(|err| panic!("{err}"));
}

async fn search(app: &TestApp, user: &TestUser, query: &str) -> Value {
    let path = format!("/api/search?{query}");
    let reply = app.get(Some(user), &path).await;
    reply.expect(200);
    reply.body.clone()
}

fn message_ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item["message_id"].as_i64())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn search_returns_only_messages_of_chats_the_caller_is_in_with_marked_snippets() {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let bob = app.member(&ann, "bob").await;
    let cat = app.member(&ann, "cat").await;
    let zed = app.owner("zed", "Globex").await;
    let ops = app.chat(&ann, "group", Some("ops"), &[&bob]).await;
    let secret = app.chat(&ann, "private_channel", Some("hr"), &[]).await;
    let seen = app
        .send(&bob, ops, "The Deployment <b>starts</b> at noon")
        .await;
    let hidden = app.send(&ann, secret, "deployment of salaries").await;
    let gone = app.send(&ann, ops, "deployment cancelled").await;
    for message in [seen, hidden, gone] {
        index(&app, message, None).await;
    }
    sqlx::query("UPDATE search_documents SET deleted_at = now(), content = '', search_text = '' WHERE message_id = $1")
        .bind(gone)
        .execute(&app.pool)
        .await
        .unwrap_or_else(|err| panic!("{err}"));

    let page = search(&app, &bob, "q=deplo").await;
    assert_eq!(message_ids(&page), [seen], "{page}");
    assert_eq!(
        page["items"][0]["snippet"],
        "The <mark>Deployment</mark> &lt;b&gt;starts&lt;/b&gt; at noon"
    );
    assert_eq!(page["items"][0]["chat_id"], ops);
    assert_eq!(page["has_more"], false);
    // Equal ranks: the newer first.
    assert_eq!(
        message_ids(&search(&app, &ann, "q=deployment").await),
        [hidden, seen]
    );
    for outsider in [&cat, &zed] {
        assert_eq!(
            message_ids(&search(&app, outsider, "q=deployment").await),
            Vec::<i64>::new()
        );
    }
    // Naming a chat the caller is not in reveals nothing about it.
    app.get(
        Some(&cat),
        &format!("/api/search?q=deployment&chat_id={ops}"),
    )
    .await
    .expect_error(404, "not_found");
    assert_eq!(
        message_ids(&search(&app, &ann, &format!("q=deployment&chat_id={secret}")).await),
        [hidden]
    );
    let searches = value(&app.scrape().await, "fechatter_search_requests_total", &[]);
    assert_eq!(searches, Some(5.0), "the refused one is not counted");
}

#[tokio::test]
async fn search_never_shows_a_deleted_message_nor_an_edits_old_text_while_the_index_lags() {
    // No bot runs here: the index keeps what it had before the edit and the delete.
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let bob = app.member(&ann, "bob").await;
    let ops = app.chat(&ann, "group", Some("ops"), &[&bob]).await;
    let edited = app
        .send(&ann, ops, "deploy on friday, password hunter2")
        .await;
    let deleted = app.send(&ann, ops, "deploy cancelled: secret plans").await;
    let kept = app.send(&bob, ops, "deploy checklist").await;
    for message in [edited, deleted, kept] {
        index(&app, message, None).await;
    }
    app.patch(
        Some(&ann),
        &format!("/api/chats/{ops}/messages/{edited}"),
        json!({"content": "deploy on monday"}),
    )
    .await
    .expect(200);
    app.delete(Some(&ann), &format!("/api/chats/{ops}/messages/{deleted}"))
        .await
        .expect(204);

    let page = search(&app, &bob, "q=deploy").await;
    assert_eq!(message_ids(&page), [kept, edited], "{page}");
    let text = page.to_string();
    for gone in ["friday", "hunter2", "cancelled", "secret"] {
        assert!(!text.contains(gone), "{gone} leaked: {page}");
    }
    assert_eq!(page["items"][1]["content"], "deploy on monday");
    assert_eq!(page["items"][1]["snippet"], "<mark>deploy</mark> on monday");
    assert!(page["items"][1]["edited_at"].is_string(), "{page}");
    for old_words in ["q=friday", "q=hunter2", "q=cancelled", "q=secret"] {
        assert_eq!(
            message_ids(&search(&app, &bob, old_words).await),
            Vec::<i64>::new(),
            "{old_words}"
        );
    }
}

#[tokio::test]
async fn pages_follow_the_ranking_without_gaps_or_repeats() {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let chat = app.chat(&ann, "group", Some("notes"), &[]).await;
    let mut sent = Vec::new();
    for text in [
        "release",
        "release notes for the release",
        "the release",
        "release release release",
        "a release train",
    ] {
        let id = app.send(&ann, chat, text).await;
        index(&app, id, None).await;
        sent.push(id);
    }
    let all = message_ids(&search(&app, &ann, "q=release&limit=100").await);
    assert_eq!(all.len(), sent.len());

    let mut paged = Vec::new();
    let mut query = "q=release&limit=2".to_owned();
    loop {
        let page = search(&app, &ann, &query).await;
        paged.extend(message_ids(&page));
        match page["next_before"].as_str() {
            Some(cursor) => {
                assert_eq!(page["has_more"], true);
                query = format!("q=release&limit=2&before={cursor}");
            }
            None => break,
        }
    }
    assert_eq!(paged, all);
}

#[tokio::test]
async fn bad_search_input_is_a_400_in_the_envelope_and_anonymous_callers_get_401() {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    for (query, code) in [
        ("", "invalid_query"),
        ("q=%20%3F%21", "invalid_query"),
        ("q=x&limit=0", "invalid_limit"),
        ("q=x&limit=101", "invalid_limit"),
        ("q=x&limit=ten", "invalid_query"),
        ("q=x&before=12", "invalid_cursor"),
        ("q=x&chat_id=abc", "invalid_query"),
    ] {
        app.get(Some(&ann), &format!("/api/search?{query}"))
            .await
            .expect_error(400, code);
    }
    let long = "a".repeat(fechatter_search::query::MAX_QUERY_CHARS + 1);
    app.get(Some(&ann), &format!("/api/search?q={long}"))
        .await
        .expect_error(400, "invalid_query");
    let reply = app.get(None, "/api/search?q=x").await;
    assert_eq!(reply.status, 401);
}

#[tokio::test]
async fn with_hybrid_ranking_the_semantically_closer_of_equal_lexical_matches_comes_first() {
    let app = TestApp::spawn_with(AppOptions {
        env: vec![("SEARCH_HYBRID", "true".to_owned())],
        ..AppOptions::default()
    })
    .await;
    let ann = app.owner("ann", "Acme").await;
    let chat = app.chat(&ann, "group", Some("ops"), &[]).await;
    // The three match "outage" equally well lexically, so without vectors the newest would lead;
    // only the stored embeddings tell them apart.
    let close = app.send(&ann, chat, "outage: one").await;
    let far = app.send(&ann, chat, "outage: two").await;
    let none = app.send(&ann, chat, "outage: three").await;
    index(&app, close, Some("outage of the primary database")).await;
    index(&app, far, Some("pizza and salad for lunch")).await;
    index(&app, none, None).await;

    let page = search(&app, &ann, "q=outage%20database").await;
    assert_eq!(
        message_ids(&page),
        Vec::<i64>::new(),
        "every word must match lexically"
    );
    let page = search(&app, &ann, "q=outage").await;
    assert_eq!(message_ids(&page)[0], close, "{page}");
    let score = |id: i64| {
        page["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|item| item["message_id"] == id)
            .and_then(|item| item["score"].as_f64())
            .unwrap_or_else(|| panic!("{id} missing from {page}"))
    };
    assert!(
        score(close) > score(none) && score(close) > score(far),
        "{page}"
    );
}

/// The message ids a search finds, as `user`, for the (URL-encoded) query `q`.
async fn found(app: &TestApp, user: &TestUser, q: &str) -> Vec<i64> {
    let mut ids = message_ids(&search(app, user, &format!("q={}", urlencode(q))).await);
    ids.sort_unstable();
    ids
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn operators_filter_by_sender_chat_files_links_and_dates_combined_with_words() {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let bob = app.member(&ann, "bob").await;
    let cat = app.member(&ann, "cat").await;
    let launch = app.chat(&ann, "group", Some("Launch Plans"), &[&bob]).await;
    let ops = app.chat(&ann, "public_channel", Some("ops"), &[&bob]).await;
    let cats = app.chat(&cat, "group", Some("ops"), &[]).await;
    let file_id = app
        .upload(
            &bob,
            "plan.png",
            "image/png",
            &crate::common::files::png(64),
        )
        .await
        .id();
    let with_file = app
        .post(
            Some(&bob),
            &format!("/api/chats/{launch}/messages"),
            json!({"content": "deploy plan attached", "files": [file_id]}),
        )
        .await;
    with_file.expect(201);
    let with_file = with_file.id();
    let with_link = app
        .send(&ann, launch, "deploy logs at https://logs.example.com/42")
        .await;
    let old = app.send(&ann, ops, "deploy done last year").await;
    let bobs_ops = app.send(&bob, ops, "deploy rollback in ops").await;
    let not_visible = app.send(&cat, cats, "deploy in cat's ops").await;
    sqlx::query("UPDATE messages SET created_at = '2025-06-15T12:00:00Z' WHERE id = $1")
        .bind(old)
        .execute(&app.pool)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    for message in [with_file, with_link, old, bobs_ops, not_visible] {
        index(&app, message, None).await;
    }
    let all = {
        let mut ids = vec![with_file, with_link, old, bobs_ops];
        ids.sort_unstable();
        ids
    };
    assert_eq!(found(&app, &ann, "deploy").await, all);

    assert_eq!(
        found(&app, &ann, "deploy from:@bob").await,
        vec![with_file, bobs_ops]
    );
    assert_eq!(
        found(&app, &ann, "from:@bob FROM:ann in:#ops").await,
        vec![old, bobs_ops]
    );
    // Ann's #ops is hers; Cat's chat of the same name is not searched.
    assert_eq!(found(&app, &cat, "in:#ops deploy").await, vec![not_visible]);
    assert_eq!(
        found(&app, &ann, "in:\"#launch plans\"").await,
        vec![with_file, with_link]
    );
    assert_eq!(found(&app, &ann, "has:file").await, vec![with_file]);
    assert_eq!(found(&app, &ann, "deploy has:link").await, vec![with_link]);
    assert_eq!(
        found(&app, &ann, "deploy before:2026-01-01").await,
        vec![old]
    );
    assert_eq!(
        found(&app, &ann, "after:2025-06-15 before:2025-06-16").await,
        vec![old]
    );
    let recent = found(&app, &ann, "deploy after:2026-01-01").await;
    assert!(!recent.contains(&old) && recent.len() == 3, "{recent:?}");
    // Filters and words are ANDed: a word no filtered message has finds nothing.
    assert_eq!(
        found(&app, &ann, "rollback from:@ann").await,
        Vec::<i64>::new()
    );
    // Operators in quotes, and URLs, are words.
    assert_eq!(found(&app, &ann, "\"has:file\"").await, Vec::<i64>::new());

    // Bad operators are a 400 that says what is wrong.
    for (q, says) in [
        ("deploy from:@nobody", "nobody"),
        ("in:#secret-room", "secret-room"),
        ("has:video", "has:video"),
        ("before:yesterday", "YYYY-MM-DD"),
        ("after:2026-02-01 before:2026-01-01", "after:"),
    ] {
        let reply = app
            .get(Some(&ann), &format!("/api/search?q={}", urlencode(q)))
            .await;
        reply.expect_error(400, "invalid_query");
        assert!(
            reply.body["message"]
                .as_str()
                .is_some_and(|message| message.contains(says)),
            "{q}: {}",
            reply.body
        );
    }
    // Zed's workspace has its own users: a handle of Acme is unknown there.
    let zed = app.owner("zed", "Globex").await;
    app.get(
        Some(&zed),
        &format!("/api/search?q={}", urlencode("from:@ann")),
    )
    .await
    .expect_error(400, "invalid_query");
}
