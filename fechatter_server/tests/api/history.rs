//! `GET /api/chats/{id}/messages/{message_id}/history`: every edit keeps the text it replaced; a
//! deleted message keeps neither its text nor its history.

use serde_json::json;

use crate::common::TestApp;

#[tokio::test]
async fn every_edit_keeps_the_replaced_text_for_members_and_a_deletion_erases_it_all() {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let bob = app.member(&ann, "bob").await;
    let eve = app.member(&ann, "eve").await;
    let chat = app.chat(&ann, "group", Some("plans"), &[&bob]).await;
    let message = app.send(&ann, chat, "deploy at 17:00").await;
    let path = format!("/api/chats/{chat}/messages/{message}");
    let history = format!("{path}/history");

    let untouched = app.get(Some(&bob), &history).await;
    untouched.expect(200);
    assert_eq!(untouched.body["items"], json!([]));

    let sent = app
        .get(Some(&ann), &format!("/api/chats/{chat}/messages"))
        .await;
    let created_at = sent.body["items"][0]["created_at"].clone();
    let first = app
        .patch(Some(&ann), &path, json!({"content": "deploy at 18:00"}))
        .await;
    first.expect(200);
    let first_edit = first.body["edited_at"].clone();
    app.patch(Some(&ann), &path, json!({"content": "deploy at 19:00"}))
        .await
        .expect(200);

    // Both earlier texts, the latest replaced first, each with when it was written and replaced.
    let versions = app.get(Some(&bob), &history).await;
    versions.expect(200);
    let items = versions.body["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let texts: Vec<&str> = items
        .iter()
        .filter_map(|item| item["content"].as_str())
        .collect();
    assert_eq!(texts, vec!["deploy at 18:00", "deploy at 17:00"]);
    assert_eq!(items[1]["written_at"], created_at);
    assert_eq!(items[1]["replaced_at"], first_edit);
    assert_eq!(items[0]["written_at"], first_edit);

    // Keyset pages like every list.
    let first_page = app.get(Some(&bob), &format!("{history}?limit=1")).await;
    first_page.expect(200);
    assert_eq!(first_page.body["has_more"], true);
    let before = first_page.body["next_before"].as_i64().unwrap_or_default();
    let second_page = app
        .get(Some(&bob), &format!("{history}?limit=1&before={before}"))
        .await;
    assert_eq!(second_page.body["items"][0]["content"], "deploy at 17:00");
    assert_eq!(second_page.body["has_more"], false);

    // Outsiders learn nothing; bad paging is a clear 400; unknown messages are 404.
    app.get(Some(&eve), &history)
        .await
        .expect_error(404, "not_found");
    app.get(None, &history).await.expect(401);
    app.get(Some(&bob), &format!("{history}?limit=0"))
        .await
        .expect_error(400, "invalid_limit");
    app.get(
        Some(&bob),
        &format!("/api/chats/{chat}/messages/{}/history", message + 1000),
    )
    .await
    .expect_error(404, "not_found");

    // Deleted: no text left anywhere, no history, and the history route says it is gone.
    app.delete(Some(&ann), &path).await.expect(204);
    app.get(Some(&bob), &history)
        .await
        .expect_error(404, "not_found");
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM message_edits WHERE message_id = {message}"
        ))
        .await,
        0
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM messages WHERE id = {message} AND content = ''"
        ))
        .await,
        1
    );
}
