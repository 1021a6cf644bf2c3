//! fechatter_server's `GET /api/ws` as the app uses it: commands with ids answered by acks, and
//! the caller's events pushed in between.

use std::collections::VecDeque;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const WAIT: Duration = Duration::from_secs(30);

pub struct Ws {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Frames read while looking for another one.
    unread: VecDeque<Value>,
    next_id: u64,
}

impl Ws {
    /// Connects to `{fechatter}/api/ws` with `token` in the `Authorization` header.
    pub async fn connect(fechatter: &str, token: &str) -> Ws {
        Ws::open(fechatter, token, None).await
    }

    /// Connects resuming after `cursor` (the `cursor` of the last event frame received): what was
    /// missed since comes first.
    pub async fn connect_resuming(fechatter: &str, token: &str, cursor: &str) -> Ws {
        Ws::open(fechatter, token, Some(cursor)).await
    }

    fn request(
        fechatter: &str,
        token: &str,
        cursor: Option<&str>,
    ) -> tokio_tungstenite::tungstenite::handshake::client::Request {
        let mut url = format!("{}/api/ws", fechatter.replacen("http://", "ws://", 1));
        if let Some(cursor) = cursor {
            url.push_str(&format!("?cursor={cursor}"));
        }
        let mut request = url
            .into_client_request()
            .unwrap_or_else(|err| panic!("ws request: {err}"));
        let bearer = format!("Bearer {token}")
            .parse()
            .unwrap_or_else(|err| panic!("authorization header: {err}"));
        request.headers_mut().insert("authorization", bearer);
        request
    }

    /// Connects; a 503 (the instance's event reader has not found the stream yet) is retried
    /// until `WAIT` has passed.
    async fn open(fechatter: &str, token: &str, cursor: Option<&str>) -> Ws {
        let stream = test_support::eventually("a WebSocket handshake", WAIT, || async {
            let request = Ws::request(fechatter, token, cursor);
            match tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request)).await {
                Ok(Ok((stream, _))) => Some(stream),
                Ok(Err(Error::Http(response))) if response.status() == 503 => None,
                Ok(Err(err)) => panic!("the WebSocket handshake failed: {err}"),
                Err(_) => panic!("the WebSocket handshake timed out"),
            }
        })
        .await;
        Ws {
            stream,
            unread: VecDeque::new(),
            next_id: 0,
        }
    }

    /// The status and JSON body of an upgrade the server refuses.
    pub async fn refused(fechatter: &str, token: &str) -> (u16, Value) {
        let request = Ws::request(fechatter, token, None);
        match tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request)).await {
            Ok(Err(Error::Http(response))) => {
                let body = response
                    .body()
                    .as_deref()
                    .and_then(|body| serde_json::from_slice(body).ok())
                    .unwrap_or_default();
                (response.status().as_u16(), body)
            }
            Ok(Ok(_)) => panic!("the upgrade was accepted"),
            Ok(Err(err)) => panic!("the WebSocket handshake failed otherwise: {err}"),
            Err(_) => panic!("the WebSocket handshake timed out"),
        }
    }

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

    /// The first frame, read before or now, that `matches`.
    pub async fn frame(&mut self, matches: impl Fn(&Value) -> bool) -> Value {
        if let Some(index) = self.unread.iter().position(&matches) {
            return self.unread.remove(index).unwrap_or_default();
        }
        loop {
            let frame = self.read().await;
            if matches(&frame) {
                return frame;
            }
            self.unread.push_back(frame);
        }
    }

    /// Sends `command` (a JSON object with its `type`) and returns the server's answer to it: an
    /// `ack` or an `error` frame.
    pub async fn command(&mut self, mut command: Value) -> Value {
        self.next_id += 1;
        let id = format!("c{}", self.next_id);
        command["id"] = Value::String(id.clone());
        self.stream
            .send(Message::text(command.to_string()))
            .await
            .unwrap_or_else(|err| panic!("sending a frame: {err}"));
        self.frame(|frame| {
            frame["id"] == id.as_str() && (frame["type"] == "ack" || frame["type"] == "error")
        })
        .await
    }

    /// The events pushed so far that were not asked for.
    pub fn unread_events(&self) -> Vec<Value> {
        self.unread
            .iter()
            .filter(|frame| frame["type"] == "event")
            .map(|frame| frame["event"].clone())
            .collect()
    }

    /// The pushed `message.created` event of message `id`.
    pub async fn message_event(&mut self, id: i64) -> Value {
        self.message_frame(id).await["event"].clone()
    }

    /// The frame that pushed the `message.created` event of message `id` (with its `cursor`).
    pub async fn message_frame(&mut self, id: i64) -> Value {
        self.frame(|frame| {
            frame["type"] == "event"
                && frame["event"]["kind"] == "message.created"
                && frame["event"]["data"]["id"] == id
        })
        .await
    }
}
