//! Presence from the cluster-wide bucket: one `presence.changed` per transition to each member of
//! the workspace, whichever instance either side is connected to.
//!
//! Presence events are ordered among themselves (every instance sees the bucket's writes in one
//! order), not against stored events, so a later transition is the marker that nothing else came
//! before it.

use fechatter_events::WorkspaceId;

use crate::support::{SseClient, TIMEOUT, TestApp, data};

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

/// The next presence event, as (user, online).
async fn next_presence(client: &mut SseClient) -> (i64, bool) {
    let event = client.next_except(&["typing", "connected"]).await;
    assert_eq!(event.event, "presence.changed", "{event:?}");
    let body = data(&event);
    (
        body["user_id"].as_i64().unwrap_or_default(),
        body["online"].as_bool().unwrap_or_default(),
    )
}

async fn wait_for_online(app: &TestApp, token: &str, users: serde_json::Value) {
    test_support::wait_until(&format!("online users {users}"), TIMEOUT, || async {
        online_users(app, token).await["user_ids"] == users
    })
    .await;
}

#[tokio::test]
async fn presence_flips_only_when_the_first_tab_opens_and_the_last_closes() {
    let app = TestApp::ready(&[]).await;
    let mut observer = app.connect(9).await;
    let elsewhere_token = app.token_in(50, WorkspaceId(2));
    let mut elsewhere = app.open_with_token(&elsewhere_token, None).await;
    app.wait_for_metric("notify_users_online", 2.0).await;

    let tab1 = app.connect(1).await;
    let tab2 = app.connect(1).await;
    app.wait_for_metric("notify_users_online", 3.0).await;
    assert_eq!(next_presence(&mut observer).await, (1, true));
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
    // User 5 coming online is the marker: closing one of two tabs announced nothing before it.
    let _five = app.connect(5).await;
    assert_eq!(next_presence(&mut observer).await, (5, true));
    // The gauge is set just after the hand-off to the presence keeper, which may announce first.
    app.wait_for_metric("notify_users_online", 4.0).await;

    drop(tab1);
    app.wait_for_metric("notify_users_online", 3.0).await;
    assert_eq!(next_presence(&mut observer).await, (1, false));
    wait_for_online(&app, &app.token(9), serde_json::json!([5, 9])).await;

    // Another workspace hears nothing of workspace 1 and lists only its own users.
    let _fifty_one = app
        .open_with_token(&app.token_in(51, WorkspaceId(2)), None)
        .await;
    assert_eq!(next_presence(&mut elsewhere).await, (51, true));
    wait_for_online(&app, &elsewhere_token, serde_json::json!([50, 51])).await;
}

#[tokio::test]
async fn a_user_on_one_instance_is_online_on_another_and_each_member_hears_each_change_once() {
    let first = TestApp::ready(&[]).await;
    let second = first.sibling(&[]).await;
    let mut on_first = first.connect(9).await;
    // The second instance knows user 9 is online before user 8 connects to it: 8 learns of 9
    // from the list, not from an event.
    wait_for_online(&second, &second.token(8), serde_json::json!([9])).await;
    let mut on_second = second.connect(8).await;
    assert_eq!(next_presence(&mut on_first).await, (8, true));

    // User 1 opens a tab on each instance: online once; closing one tab changes nothing.
    let tab_on_first = first.connect(1).await;
    let tab_on_second = second.connect(1).await;
    for observer in [&mut on_first, &mut on_second] {
        assert_eq!(next_presence(observer).await, (1, true));
    }
    wait_for_online(&second, &second.token(8), serde_json::json!([1, 8, 9])).await;
    wait_for_online(&first, &first.token(9), serde_json::json!([1, 8, 9])).await;
    drop(tab_on_first);
    first.wait_for_metric("notify_users_online", 1.0).await;
    let _marker = second.connect(2).await;
    for observer in [&mut on_first, &mut on_second] {
        assert_eq!(
            next_presence(observer).await,
            (2, true),
            "nothing for one of two tabs"
        );
    }

    // The last tab anywhere closes: offline, announced once to each member.
    drop(tab_on_second);
    for observer in [&mut on_first, &mut on_second] {
        assert_eq!(next_presence(observer).await, (1, false));
    }
    wait_for_online(&first, &first.token(9), serde_json::json!([2, 8, 9])).await;
    let _marker = first.connect(3).await;
    for observer in [&mut on_first, &mut on_second] {
        assert_eq!(
            next_presence(observer).await,
            (3, true),
            "exactly one offline event"
        );
    }
}
