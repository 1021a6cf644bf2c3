//! A WebSocket client of `GET /api/ws` that keeps the frames it read but was not asked for yet, so
//! acks and pushed events can arrive in any order.

use std::collections::VecDeque;

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::{TestApp, TestUser, WAIT};

pub struct WsClient {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    unread: VecDeque<Value>,
}

impl TestApp {
    pub fn ws_url(&self) -> String {
        format!("{}/api/ws", self.base.replacen("http://", "ws://", 1))
    }

    /// Waits until the sockets' event log reader has found the stream (before that, upgrades are
    /// refused with 503).
    pub async fn wait_for_live_events(&self) {
        test_support::wait_until("the sockets' event log reader", WAIT, || async {
            let health: Value = match self.client.get(self.url("/health")).send().await {
                Ok(response) => response.json().await.unwrap_or_default(),
                Err(_) => return false,
            };
            health["checks"]["websocket_events"]["status"] == "up"
        })
        .await;
    }

    /// A socket authenticated with an `Authorization` header.
    pub async fn ws(&self, user: &TestUser) -> WsClient {
        self.wait_for_live_events().await;
        let mut request = self
            .ws_url()
            .into_client_request()
            .unwrap_or_else(|err| panic!("ws request: {err}"));
        let bearer = format!("Bearer {}", user.token)
            .parse()
            .unwrap_or_else(|err| panic!("header: {err}"));
        request.headers_mut().insert("authorization", bearer);
        WsClient::connect(request).await
    }

    /// A socket resuming from `cursor` (`?cursor=`), authenticated with `?access_token=`.
    pub async fn ws_resuming(&self, user: &TestUser, cursor: &str) -> WsClient {
        self.wait_for_live_events().await;
        let url = format!(
            "{}?access_token={}&cursor={cursor}",
            self.ws_url(),
            user.token
        );
        let request = url
            .into_client_request()
            .unwrap_or_else(|err| panic!("ws request: {err}"));
        WsClient::connect(request).await
    }

    /// The HTTP answer to an upgrade that is refused, with its JSON body.
    pub async fn ws_refused(&self, token: &str) -> (u16, Value) {
        let url = format!("{}?access_token={token}", self.ws_url());
        let request = url
            .into_client_request()
            .unwrap_or_else(|err| panic!("ws request: {err}"));
        match tokio_tungstenite::connect_async(request).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                let body = response
                    .body()
                    .as_deref()
                    .and_then(|body| serde_json::from_slice(body).ok())
                    .unwrap_or_default();
                (response.status().as_u16(), body)
            }
            other => panic!("expected the upgrade to be refused, got {other:?}"),
        }
    }

    /// A socket authenticated with `?access_token=`.
    pub async fn ws_with_query_token(&self, user: &TestUser) -> WsClient {
        self.wait_for_live_events().await;
        let url = format!("{}?access_token={}", self.ws_url(), user.token);
        let request = url
            .into_client_request()
            .unwrap_or_else(|err| panic!("ws request: {err}"));
        WsClient::connect(request).await
    }
}

impl WsClient {
    async fn connect(request: tokio_tungstenite::tungstenite::handshake::client::Request) -> Self {
        let (stream, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
            .await
            .unwrap_or_else(|_| panic!("the WebSocket handshake timed out"))
            .unwrap_or_else(|err| panic!("the WebSocket handshake failed: {err}"));
        Self {
            stream,
            unread: VecDeque::new(),
        }
    }

    pub async fn send(&mut self, message: Message) {
        self.stream
            .send(message)
            .await
            .unwrap_or_else(|err| panic!("sending a frame: {err}"));
    }

    pub async fn send_json(&mut self, value: Value) {
        self.send(Message::text(value.to_string())).await;
    }

    /// The next data frame from the socket (pings are answered by the client itself).
    async fn read(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(WAIT, self.stream.next())
                .await
                .unwrap_or_else(|_| panic!("no frame within {WAIT:?}; unread: {:?}", self.unread))
                .unwrap_or_else(|| panic!("the socket closed"))
                .unwrap_or_else(|err| panic!("reading a frame: {err}"));
            match message {
                Message::Text(text) => {
                    return serde_json::from_str(text.as_str())
                        .unwrap_or_else(|err| panic!("frame {text}: {err}"));
                }
                Message::Close(frame) => panic!("the server closed the socket: {frame:?}"),
                _ => continue,
            }
        }
    }

    /// The first frame (read earlier or now) that `matches`.
    pub async fn frame(&mut self, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
        if let Some(index) = self.unread.iter().position(&matches) {
            return self.unread.remove(index).unwrap_or_default();
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no {what} within {WAIT:?}; unread: {:?}",
                self.unread
            );
            let frame = self.read().await;
            if matches(&frame) {
                return frame;
            }
            self.unread.push_back(frame);
        }
    }

    /// The ack or error answering request `id`.
    pub async fn reply(&mut self, id: &str) -> Value {
        self.frame(&format!("reply to {id}"), |frame| {
            frame["id"] == id && (frame["type"] == "ack" || frame["type"] == "error")
        })
        .await
    }

    /// The next pushed event of `kind`.
    pub async fn event(&mut self, kind: &str) -> Value {
        let frame = self
            .frame(&format!("{kind} event"), |frame| {
                frame["type"] == "event" && frame["event"]["kind"] == kind
            })
            .await;
        frame["event"].clone()
    }

    /// Pushed events (as `(kind, cursor)`) up to and including the first whose envelope `done`
    /// accepts; panics on a `resync`.
    pub async fn events_until(&mut self, done: impl Fn(&Value) -> bool) -> Vec<(String, String)> {
        let mut seen = Vec::new();
        loop {
            let frame = self
                .frame("an event", |frame| {
                    frame["type"] == "event" || frame["type"] == "resync"
                })
                .await;
            assert_ne!(frame["type"], "resync", "{frame}");
            let kind = frame["event"]["kind"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let cursor = frame["cursor"].as_str().unwrap_or_default().to_owned();
            seen.push((kind, cursor));
            if done(&frame["event"]) {
                return seen;
            }
        }
    }

    /// Every frame read so far and not asked for.
    pub fn unread(&self) -> &VecDeque<Value> {
        &self.unread
    }

    /// Keeps reading (so pings are answered) until `until` completes; panics if the socket ends.
    pub async fn read_until<T>(&mut self, until: impl std::future::Future<Output = T>) -> T {
        tokio::pin!(until);
        loop {
            tokio::select! {
                done = &mut until => return done,
                next = self.stream.next() => match next {
                    Some(Ok(Message::Text(text))) => {
                        let frame = serde_json::from_str(text.as_str()).unwrap_or_default();
                        self.unread.push_back(frame);
                    }
                    Some(Ok(Message::Close(frame))) => panic!("the server closed the socket: {frame:?}"),
                    Some(Ok(_)) => {}
                    Some(Err(err)) => panic!("reading a frame: {err}"),
                    None => panic!("the socket ended"),
                },
            }
        }
    }

    /// Closes the socket from this side and waits for the server's answering close frame.
    pub async fn close(&mut self) -> Option<(u16, String)> {
        let frame = tokio_tungstenite::tungstenite::protocol::CloseFrame {
            code: tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode::Normal,
            reason: "bye".into(),
        };
        self.stream
            .close(Some(frame))
            .await
            .unwrap_or_else(|err| panic!("closing: {err}"));
        self.closed().await
    }

    /// Waits for the server to close the socket; the close frame, if one was sent.
    pub async fn closed(&mut self) -> Option<(u16, String)> {
        loop {
            let next = tokio::time::timeout(WAIT, self.stream.next())
                .await
                .unwrap_or_else(|_| panic!("the socket stayed open for {WAIT:?}"));
            match next {
                Some(Ok(Message::Close(frame))) => {
                    return frame.map(|frame| (u16::from(frame.code), frame.reason.to_string()));
                }
                Some(Ok(_)) => continue,
                None | Some(Err(_)) => return None,
            }
        }
    }
}
