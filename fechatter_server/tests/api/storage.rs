//! Storage is bounded: upload quotas per user and per workspace, and a periodic sweep of uploads
//! nothing references any more, of unreferenced blobs and of leftover temporary files.

use std::path::Path;
use std::time::{Duration, SystemTime};

use serde_json::json;
use sha2::{Digest, Sha256};
use test_support::wait_until;

use crate::common::files::png;
use crate::common::metrics::value;
use crate::common::{AppOptions, TestApp, WAIT};

const HOURS_AGO: Duration = Duration::from_secs(2 * 3600);

fn backdate(path: &Path) {
    let file = std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    file.set_modified(SystemTime::now() - HOURS_AGO)
        .unwrap_or_else(|err| panic!("{err}"));
}

fn blob_path(app: &TestApp, bytes: &[u8]) -> std::path::PathBuf {
    let hex = hex::encode(Sha256::digest(bytes));
    app.files_dir.join(&hex[0..2]).join(&hex[2..4]).join(hex)
}

#[tokio::test]
async fn uploads_beyond_the_users_or_the_workspaces_quota_are_refused_with_413() {
    let app = TestApp::spawn_with(AppOptions {
        env: vec![
            ("UPLOAD_QUOTA_PER_USER_BYTES", "5000".to_owned()),
            ("UPLOAD_QUOTA_PER_WORKSPACE_BYTES", "8000".to_owned()),
        ],
        ..AppOptions::default()
    })
    .await;
    let ann = app.owner("ann", "Acme").await;
    let bob = app.member(&ann, "bob").await;
    let cat = app.member(&ann, "cat").await;
    let zed = app.owner("zed", "Globex").await;
    // `png(n)` is n + 33 bytes.
    let three_kb = |seed: u8| {
        let mut bytes = png(2967);
        bytes[40] = seed;
        bytes
    };

    app.upload(&ann, "a.png", "image/png", &three_kb(1))
        .await
        .expect(201);
    let refused = app.upload(&ann, "b.png", "image/png", &three_kb(2)).await;
    refused.expect_error(413, "quota_exceeded");
    assert!(
        refused.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("your storage quota of 5000 bytes")),
        "{}",
        refused.body
    );
    app.upload(&ann, "small.png", "image/png", &png(967))
        .await
        .expect(201);
    app.upload(&bob, "c.png", "image/png", &three_kb(3))
        .await
        .expect(201);
    let refused = app.upload(&cat, "d.png", "image/png", &three_kb(4)).await;
    refused.expect_error(413, "quota_exceeded");
    assert!(
        refused.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("workspace's storage quota of 8000 bytes")),
        "{}",
        refused.body
    );

    // Two uploads at once cannot both take the last room.
    let (e, f) = (three_kb(5), three_kb(6));
    let (first, second) = tokio::join!(
        app.upload(&zed, "e.png", "image/png", &e),
        app.upload(&zed, "f.png", "image/png", &f),
    );
    let mut statuses = [first.status, second.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 413], "{} / {}", first.body, second.body);

    assert_eq!(
        app.count("SELECT coalesce(sum(size_bytes), 0)::bigint FROM files WHERE workspace_id = (SELECT workspace_id FROM users WHERE handle = 'ann')")
            .await,
        7000
    );
    let metrics = app.scrape().await;
    assert_eq!(
        value(
            &metrics,
            "fechatter_file_uploads_total",
            &[("result", "quota_exceeded")]
        ),
        Some(3.0)
    );
}

#[tokio::test]
async fn the_sweep_removes_what_nothing_references_after_the_grace_period_and_keeps_the_rest() {
    let app = TestApp::spawn_with(AppOptions {
        env: vec![
            ("FILES_SWEEP_INTERVAL_SECONDS", "1".to_owned()),
            ("FILES_ORPHAN_GRACE_SECONDS", "3600".to_owned()),
        ],
        ..AppOptions::default()
    })
    .await;
    let ann = app.owner("ann", "Acme").await;
    let chat = app.chat(&ann, "group", Some("g"), &[]).await;
    let upload = |bytes: Vec<u8>| {
        let app = &app;
        let ann = &ann;
        async move {
            let reply = app.upload(ann, "f.png", "image/png", &bytes).await;
            reply.expect(201);
            reply.id()
        }
    };
    let share = |file: i64| {
        let app = &app;
        let ann = &ann;
        async move {
            let reply = app
                .post(
                    Some(ann),
                    &format!("/api/chats/{chat}/messages"),
                    json!({"content": "here", "files": [file]}),
                )
                .await;
            reply.expect(201);
            reply.id()
        }
    };
    let (kept_bytes, orphan_bytes, recent_bytes, old_bytes, fresh_bytes) =
        (png(100), png(200), png(300), png(400), png(500));
    let kept = upload(kept_bytes.clone()).await;
    share(kept).await;
    let twin = upload(kept_bytes.clone()).await; // same content, never shared
    let orphan = upload(orphan_bytes.clone()).await; // never shared
    let recently_unshared = upload(recent_bytes.clone()).await;
    let message = share(recently_unshared).await;
    app.delete(Some(&ann), &format!("/api/chats/{chat}/messages/{message}"))
        .await
        .expect(204);
    let long_unshared = upload(old_bytes.clone()).await;
    let message = share(long_unshared).await;
    app.delete(Some(&ann), &format!("/api/chats/{chat}/messages/{message}"))
        .await
        .expect(204);
    let fresh = upload(fresh_bytes.clone()).await; // never shared, but new

    // Everything but `fresh` was uploaded hours ago; one message was deleted hours ago.
    sqlx::query("UPDATE files SET created_at = now() - interval '2 hours' WHERE id <> $1")
        .bind(fresh)
        .execute(&app.pool)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    sqlx::query("UPDATE messages SET deleted_at = now() - interval '2 hours' WHERE id = $1")
        .bind(message)
        .execute(&app.pool)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    for bytes in [&kept_bytes, &orphan_bytes, &recent_bytes, &old_bytes] {
        backdate(&blob_path(&app, bytes));
    }
    let stray = blob_path(&app, b"bytes no upload has");
    std::fs::create_dir_all(stray.parent().unwrap_or(&app.files_dir))
        .unwrap_or_else(|err| panic!("{err}"));
    std::fs::write(&stray, b"bytes no upload has").unwrap_or_else(|err| panic!("{err}"));
    backdate(&stray);
    let leftover = app.files_dir.join(".upload-leftover");
    std::fs::write(&leftover, b"half an upload").unwrap_or_else(|err| panic!("{err}"));
    backdate(&leftover);
    let in_progress = app.files_dir.join(".upload-in-progress");
    std::fs::write(&in_progress, b"an upload going on").unwrap_or_else(|err| panic!("{err}"));

    let removed = |kind: &'static str| {
        let app = &app;
        async move {
            value(
                &app.scrape().await,
                "fechatter_file_sweep_removed_total",
                &[("kind", kind)],
            )
            .unwrap_or_default()
        }
    };
    wait_until("the sweep to remove the orphans", WAIT, || async {
        removed("file").await == 3.0 && removed("blob").await == 3.0 && removed("temp").await == 1.0
    })
    .await;

    let mut left: Vec<i64> = sqlx::query_scalar("SELECT id FROM files ORDER BY id")
        .fetch_all(&app.pool)
        .await
        .unwrap_or_default();
    left.sort_unstable();
    assert_eq!(left, [kept, recently_unshared, fresh]);
    for gone in [twin, orphan, long_unshared] {
        assert!(!left.contains(&gone));
    }
    for (bytes, present) in [
        (&kept_bytes, true),
        (&recent_bytes, true),
        (&fresh_bytes, true),
        (&orphan_bytes, false),
        (&old_bytes, false),
    ] {
        assert_eq!(blob_path(&app, bytes).exists(), present);
    }
    assert!(!stray.exists() && !leftover.exists() && in_progress.exists());
    let downloaded = app.get(Some(&ann), &format!("/api/files/{kept}")).await;
    assert_eq!(downloaded.status, 200);
    app.get(Some(&ann), &format!("/api/files/{orphan}"))
        .await
        .expect_error(404, "not_found");
    assert!(
        value(
            &app.scrape().await,
            "fechatter_file_sweep_runs_total",
            &[("result", "ok")]
        )
        .unwrap_or_default()
            >= 1.0
    );
}
