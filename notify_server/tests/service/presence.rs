use fechatter_events::{EventKind, WorkspaceId};

use crate::support::{Producer, SseClient, TestApp, data};

async fn online_users(app: &TestApp, token: &str) -> serde_json::Value {
    app.http
        .get(app.url("/online-users"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap_or_else(|err| panic!("GET /online-users: {err}"))
        .json()
        .await
        .unwrap_or_else(|err| panic!("a JSON body: {err}"))
}

/// Presence events before the next domain event, as (user, online) pairs.
async fn presence_until_domain_event(client: &mut SseClient) -> Vec<(i64, bool)> {
    let mut seen = Vec::new();
    loop {
        let event = client.next_except(&["typing"]).await;
        if event.event != "presence.changed" {
            return seen;
        }
        let body = data(&event);
        seen.push((
            body["user_id"].as_i64().unwrap_or_default(),
            body["online"].as_bool().unwrap_or_default(),
        ));
    }
}

#[tokio::test]
async fn presence_flips_only_when_the_first_tab_opens_and_the_last_closes() {
    let app = TestApp::ready(&[]).await;
    let producer = Producer::new(&app).await;
    let mut observer = app.connect(9).await;
    let elsewhere_token = app.token_in(50, WorkspaceId(2));
    let mut elsewhere = app.open_with_token(&elsewhere_token, None).await;
    app.wait_for_metric("notify_users_online", 2.0).await;

    let tab1 = app.connect(1).await;
    let tab2 = app.connect(1).await;
    app.wait_for_metric("notify_users_online", 3.0).await;
    assert_eq!(
        online_users(&app, &app.token(9)).await,
        serde_json::json!({"workspace_id": 1, "user_ids": [1, 9]})
    );
    drop(tab2);
    app.wait_for_metric(
        "notify_sse_connections_closed_total{reason=\"client_closed\"}",
        1.0,
    )
    .await;
    producer.publish(EventKind::ChatUpdated, 1, &[9]).await;
    assert_eq!(
        presence_until_domain_event(&mut observer).await,
        [(1, true)],
        "one event for two tabs, none for closing one of them"
    );
    assert_eq!(app.metric("notify_users_online").await, Some(3.0));

    drop(tab1);
    app.wait_for_metric("notify_users_online", 2.0).await;
    producer.publish(EventKind::ChatUpdated, 1, &[9, 50]).await;
    assert_eq!(
        presence_until_domain_event(&mut observer).await,
        [(1, false)]
    );
    assert_eq!(
        online_users(&app, &app.token(9)).await["user_ids"],
        serde_json::json!([9])
    );

    // Another workspace hears nothing of workspace 1 and lists only its own users.
    let first = elsewhere.next().await;
    assert_eq!(first.event, "connected");
    assert_eq!(presence_until_domain_event(&mut elsewhere).await, []);
    assert_eq!(
        online_users(&app, &elsewhere_token).await,
        serde_json::json!({"workspace_id": 2, "user_ids": [50]})
    );
}
