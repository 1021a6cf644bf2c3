//! Ann connects her build server: an incoming webhook posts its results into a chat, and an
//! outgoing webhook delivers that chat's events, signed, to a receiver of hers.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use e2e::api::Api;
use e2e::{Service, Topology};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::WAIT;
use crate::chat::Told;

async fn receive(
    State(seen): State<mpsc::UnboundedSender<(HeaderMap, Value)>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let _ = seen.send((headers, serde_json::from_slice(&body).unwrap_or_default()));
    StatusCode::NO_CONTENT
}

pub async fn integrate(topology: &Topology, told: &Told) {
    let api = Api::new(topology.url(Service::Fechatter));
    let ann = &told.cast.ann;
    let (seen, mut received) = mpsc::unbounded_channel();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|err| panic!("binding the receiver: {err}"));
    let address = listener
        .local_addr()
        .unwrap_or_else(|err| panic!("receiver address: {err}"));
    let app = axum::Router::new()
        .route("/events", axum::routing::post(receive))
        .with_state(seen);
    tokio::spawn(async move { axum::serve(listener, app).await });

    let ci = api.create_chat(ann, "group", Some("ci"), &[]).await;
    let outgoing = api
        .post(
            Some(&ann.access_token),
            &format!("/api/chats/{ci}/webhooks/outgoing"),
            json!({"url": format!("http://{address}/events")}),
        )
        .await;
    outgoing.expect(201);
    let incoming = api
        .post(
            Some(&ann.access_token),
            &format!("/api/chats/{ci}/webhooks/incoming"),
            json!({"name": "Builds"}),
        )
        .await;
    incoming.expect(201);
    let path = incoming.body["path"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let posted = api
        .post(None, &path, json!({"content": "build 42 passed"}))
        .await;
    posted.expect(201);
    let message = posted.body["message_id"].clone();

    let (headers, event) = tokio::time::timeout(WAIT, async {
        loop {
            match received.recv().await {
                Some((headers, event)) if event["data"]["id"] == message => {
                    return (headers, event);
                }
                Some(_) => continue,
                None => panic!("the receiver stopped"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the build result was not delivered within {WAIT:?}"));
    assert_eq!(event["kind"], "message.created");
    assert_eq!(event["data"]["content"], "build 42 passed");
    let signature = headers
        .get("fechatter-signature")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    assert!(
        signature.starts_with("sha256=") && signature.len() == 7 + 64,
        "{signature:?}"
    );
    let page = api
        .get(
            Some(&ann.access_token),
            &format!("/api/chats/{ci}/messages"),
        )
        .await;
    assert_eq!(page.body["items"][0]["integration"], "Builds");
}
