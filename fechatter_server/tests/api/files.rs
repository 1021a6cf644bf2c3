//! Uploads: stored content-addressed, typed by their bytes, bounded in size, never left half
//! written; downloads: only for the uploader and members of a chat whose message references the
//! file.

use tokio::io::AsyncWriteExt;

use fechatter_events::EventKind;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::common::events::only;
use crate::common::files::{BOUNDARY, multipart, png};
use crate::common::metrics::value;
use crate::common::{AppOptions, TestApp, WAIT};

const LIMIT: usize = 64 * 1024;

async fn app() -> TestApp {
    TestApp::spawn_with(AppOptions {
        env: vec![("MAX_UPLOAD_BYTES", LIMIT.to_string())],
        ..AppOptions::default()
    })
    .await
}

fn uploads(metrics: &str, result: &str) -> f64 {
    value(
        metrics,
        "fechatter_file_uploads_total",
        &[("result", result)],
    )
    .unwrap_or(0.0)
}

#[tokio::test]
async fn an_upload_comes_back_byte_for_byte_typed_by_its_content_and_stored_at_its_hash() {
    let app = app().await;
    let ann = app.owner("ann", "Acme").await;
    let bytes = png(20_000);
    let sha256 = hex::encode(Sha256::digest(&bytes));

    // The client's name loses its directories; its claimed type is ignored for the detected one.
    let reply = app
        .upload(
            &ann,
            "../../photos/cat.png",
            "application/octet-stream",
            &bytes,
        )
        .await;
    reply.expect(201);
    assert_eq!(reply.body["content_type"], "image/png");
    assert_eq!(reply.body["filename"], "cat.png");
    assert_eq!(reply.body["size_bytes"], bytes.len());
    assert_eq!(reply.body["sha256"], sha256);
    assert_eq!(reply.body["uploader_id"], ann.id);
    let id = reply.id();

    let response = app
        .client
        .get(app.url(&format!("/api/files/{id}")))
        .bearer_auth(&ann.token)
        .send()
        .await
        .unwrap_or_else(|err| panic!("download: {err}"));
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap_or_default()
            .starts_with("attachment; filename=\"cat.png\"")
    );
    let downloaded = response.bytes().await.unwrap_or_default();
    assert_eq!(hex::encode(Sha256::digest(&downloaded)), sha256);
    assert_eq!(downloaded.as_ref(), bytes.as_slice());

    // One blob at its content address; the same bytes again share it.
    let blob = app
        .files_dir
        .join(&sha256[0..2])
        .join(&sha256[2..4])
        .join(&sha256);
    assert_eq!(app.stored_files(), vec![blob.clone()]);
    let again = app.upload(&ann, "copy.png", "image/png", &bytes).await;
    again.expect(201);
    assert_ne!(again.id(), id, "each upload is a file of its own");
    assert_eq!(app.stored_files(), vec![blob]);

    let events = app.published_events().await;
    let uploaded: Vec<_> = events
        .iter()
        .filter(|event| event.kind == EventKind::FileUploaded)
        .cloned()
        .collect();
    assert_eq!(uploaded.len(), 2);
    let event = only(&uploaded[..1], EventKind::FileUploaded, &[ann.id]);
    assert_eq!(event.data["file_id"], id);
    assert_eq!(event.data["content_type"], "image/png");

    let metrics = app.scrape().await;
    assert_eq!(uploads(&metrics, "success"), 2.0);
    assert_eq!(
        value(&metrics, "fechatter_file_upload_size_bytes_count", &[]),
        Some(2.0)
    );
    assert_eq!(
        value(
            &metrics,
            "fechatter_file_upload_duration_seconds_count",
            &[]
        ),
        Some(2.0)
    );
}

#[tokio::test]
async fn an_upload_over_the_limit_is_413_and_a_disguised_type_is_refused_leaving_no_file() {
    let app = app().await;
    let ann = app.owner("ann", "Acme").await;

    // Exactly the limit is fine; one byte more is not.
    let text = "a".repeat(LIMIT);
    app.upload(&ann, "notes.txt", "text/plain", text.as_bytes())
        .await
        .expect(201);
    let stored = app.stored_files();
    assert_eq!(stored.len(), 1);
    let over = "a".repeat(LIMIT + 1);
    app.upload(&ann, "notes.txt", "text/plain", over.as_bytes())
        .await
        .expect_error(413, "payload_too_large");

    // A program named and labelled as an image; markup a browser would run.
    let mut program = b"\x7fELF\x02\x01\x01".to_vec();
    program.resize(4096, 0);
    app.upload(&ann, "cat.png", "image/png", &program)
        .await
        .expect_error(415, "unsupported_file_type");
    let mut page = b"<html><body><script>steal()</script>".to_vec();
    page.resize(10_000, b' ');
    app.upload(&ann, "cat.png", "image/png", &page)
        .await
        .expect_error(415, "unsupported_file_type");
    app.upload(&ann, "empty.txt", "text/plain", b"")
        .await
        .expect_error(422, "empty_file");

    // Not multipart, no file part, broken framing.
    app.upload_body(&ann, "application/json", b"{}".to_vec())
        .await
        .expect_error(415, "unsupported_media_type");
    let no_file = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n--{BOUNDARY}--\r\n"
    );
    let multipart_type = format!("multipart/form-data; boundary={BOUNDARY}");
    app.upload_body(&ann, &multipart_type, no_file.into_bytes())
        .await
        .expect_error(400, "missing_file");
    let mut truncated = multipart("x.txt", "text/plain", b"hello");
    truncated.truncate(truncated.len() - 10);
    app.upload_body(&ann, &multipart_type, truncated)
        .await
        .expect_error(400, "invalid_multipart");

    assert_eq!(app.stored_files(), stored, "a refused upload left a file");
    assert_eq!(app.count("SELECT count(*) FROM files").await, 1);
    let metrics = app.scrape().await;
    assert_eq!(uploads(&metrics, "too_large"), 1.0);
    assert_eq!(uploads(&metrics, "unsupported_type"), 2.0);
    assert_eq!(uploads(&metrics, "invalid"), 4.0);
}

#[tokio::test]
async fn a_client_that_goes_away_mid_upload_leaves_no_partial_file() {
    let app = app().await;
    let ann = app.owner("ann", "Acme").await;
    let body = multipart("big.png", "image/png", &png(60_000));
    let address = app.base.trim_start_matches("http://").to_owned();
    let head = format!(
        "POST /api/files HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\n\r\n",
        ann.token,
        body.len()
    );
    // Half the body, then the connection drops.
    let mut stream = tokio::net::TcpStream::connect(&address)
        .await
        .unwrap_or_else(|err| panic!("connect: {err}"));
    stream
        .write_all(head.as_bytes())
        .await
        .unwrap_or_else(|err| panic!("write: {err}"));
    stream
        .write_all(&body[..body.len() / 2])
        .await
        .unwrap_or_else(|err| panic!("write: {err}"));
    // The handler has started writing the temporary file before the client leaves.
    test_support::wait_until("the upload to start", WAIT, || async {
        !app.stored_files().is_empty()
    })
    .await;
    drop(stream);
    test_support::wait_until("the partial upload to be deleted", WAIT, || async {
        app.stored_files().is_empty()
    })
    .await;
    assert_eq!(app.count("SELECT count(*) FROM files").await, 0);
}

#[tokio::test]
async fn only_the_uploader_and_members_of_a_chat_referencing_a_file_may_read_or_attach_it() {
    let app = app().await;
    let ann = app.owner("ann", "Acme").await;
    let bob = app.member(&ann, "bob").await;
    let cat = app.member(&ann, "cat").await;
    let zed = app.owner("zed", "Globex").await;
    let file = app
        .upload(&ann, "plan.pdf", "application/pdf", b"%PDF-1.7\n%plan\n")
        .await;
    file.expect(201);
    let file_id = file.id();
    let path = format!("/api/files/{file_id}");

    app.get(Some(&ann), &path).await.expect(200);
    for outsider in [&bob, &cat, &zed] {
        app.get(Some(outsider), &path)
            .await
            .expect_error(404, "not_found");
    }

    let chat = app.chat(&ann, "group", Some("plans"), &[&bob]).await;
    let messages = format!("/api/chats/{chat}/messages");
    // Someone else's file the sender cannot see, and files that do not exist, cannot be attached.
    let bob_send = |files: serde_json::Value| {
        app.post(
            Some(&bob),
            &messages,
            json!({"content": "see", "files": files}),
        )
    };
    bob_send(json!([file_id]))
        .await
        .expect_error(422, "unknown_file");
    bob_send(json!([987654321]))
        .await
        .expect_error(422, "unknown_file");
    bob_send(json!((1..=11).collect::<Vec<i64>>()))
        .await
        .expect_error(422, "too_many_files");

    let mut seen = app.published_events().await.len();
    let sent = app
        .post(
            Some(&ann),
            &messages,
            json!({"content": "the plan", "files": [file_id, file_id]}),
        )
        .await;
    sent.expect(201);
    assert_eq!(sent.body["files"][0]["id"], file_id);
    assert_eq!(sent.body["files"].as_array().map(Vec::len), Some(1));
    let event = only(
        &app.new_events(&mut seen).await,
        EventKind::MessageCreated,
        &[ann.id, bob.id],
    );
    assert_eq!(event.data["files"], json!([file_id]));

    // Now bob, a member of that chat, may read the file and share it on; cat and zed still not.
    app.get(Some(&bob), &path).await.expect(200);
    app.get(Some(&cat), &path)
        .await
        .expect_error(404, "not_found");
    app.get(Some(&zed), &path)
        .await
        .expect_error(404, "not_found");
    let listed = app.get(Some(&bob), &messages).await;
    assert_eq!(listed.body["items"][0]["files"][0]["filename"], "plan.pdf");
    let zed_chat = app.chat(&zed, "group", Some("z"), &[]).await;
    app.post(
        Some(&zed),
        &format!("/api/chats/{zed_chat}/messages"),
        json!({"content": "mine now", "files": [file_id]}),
    )
    .await
    .expect_error(422, "unknown_file");

    // Deleting the only message that referenced it hides the file from bob again.
    app.delete(Some(&ann), &format!("{messages}/{}", sent.id()))
        .await
        .expect(204);
    app.get(Some(&bob), &path)
        .await
        .expect_error(404, "not_found");
    app.get(Some(&ann), &path).await.expect(200);
    app.get(Some(&ann), "/api/files/abc")
        .await
        .expect_error(400, "invalid_path");
    app.get(None, &path)
        .await
        .expect_error(401, "unauthenticated");
}
