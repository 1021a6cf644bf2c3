//! Input the fuzzer taught us about: text Postgres cannot store is refused with a 4xx wherever the
//! API takes text, never a 500.

use serde_json::json;

use crate::common::{PASSWORD, TestApp};

#[tokio::test]
async fn nul_characters_are_refused_wherever_text_comes_in() {
    let app = TestApp::spawn().await;
    let ann = app.owner("ann", "Acme").await;
    let chat = app.chat(&ann, "group", Some("g"), &[]).await;

    app.post(
        None,
        "/api/signup",
        json!({"fullname": "N\u{0}ul", "email": "nul@example.com", "password": PASSWORD, "workspace": "W"}),
    )
    .await
    .expect_error(422, "invalid_body");
    app.patch(
        Some(&ann),
        &format!("/api/chats/{chat}"),
        json!({"description": "a\u{0}b"}),
    )
    .await
    .expect_error(422, "invalid_body");
    app.get(Some(&ann), "/api/search?q=a%00b")
        .await
        .expect_error(400, "invalid_query");
    // Control characters are not allowed in the part's headers at all.
    app.upload(&ann, "no\u{0}tes.txt", "text/plain", b"hello")
        .await
        .expect_error(400, "invalid_multipart");
    app.put(
        Some(&ann),
        &format!("/api/chats/{chat}/messages/1/reactions/a%00"),
    )
    .await
    .expect_error(422, "invalid_emoji");
}
