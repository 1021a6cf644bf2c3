//! Many clients following the live feed across failures, as browsers do: each holds one logical
//! connection to SSE (`GET /events`) or the WebSocket (`GET /api/ws`); when it drops, the client
//! reconnects to the next instance with the cursor of the last event it got (`Last-Event-ID`,
//! `?cursor=`), and records every stored event as it arrives, so a test can count per connection
//! what was lost, doubled or out of order.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use eventsource_stream::Eventsource;
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::sse::cursor_seq;

/// The transport a fleet follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    /// notify_server's `GET /events`.
    Sse,
    /// fechatter_server's `GET /api/ws`.
    WebSocket,
}

/// A client's reconnect delay after a refused or failed attempt, as EventSource's `retry`.
const RETRY: Duration = Duration::from_millis(100);
/// A connection attempt that takes longer than this is given up and the next instance tried.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A stored event as one client received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub seq: u64,
    /// `(chat, message)` of a `message.created`.
    pub message: Option<(i64, i64)>,
}

/// What one client saw over its whole life.
#[derive(Debug, Default)]
pub struct Followed {
    pub events: Vec<Received>,
    /// Connections opened after the first.
    pub reconnects: usize,
    /// The `reason` of each `resync` received.
    pub resyncs: Vec<String>,
    /// Whether it received the closing message before the deadline.
    pub finished: bool,
}

impl Followed {
    /// Message ids received, in arrival order.
    pub fn messages(&self) -> Vec<i64> {
        self.events
            .iter()
            .filter_map(|event| event.message.map(|(_, id)| id))
            .collect()
    }

    /// Whether each stored event came after the one before it in the stream (none twice).
    pub fn in_stream_order(&self) -> bool {
        self.events.windows(2).all(|pair| pair[0].seq < pair[1].seq)
    }
}

/// When clients stop: once they hold message `last`, or at `deadline`.
#[derive(Debug, Clone, Copy)]
struct Finish {
    last: i64,
    deadline: Instant,
}

struct Counters {
    live: AtomicUsize,
    reconnected: AtomicUsize,
}

/// The clients of one test.
pub struct Fleet {
    clients: Vec<JoinHandle<Followed>>,
    counters: Arc<Counters>,
    finish: watch::Sender<Option<Finish>>,
}

impl Fleet {
    /// Starts one client per `(access token, instance URLs)`; each connects to the first URL, and
    /// on a drop or a refusal to the next one round the list.
    pub fn start(feed: Feed, clients: Vec<(String, Vec<String>)>) -> Fleet {
        let counters = Arc::new(Counters {
            live: AtomicUsize::new(0),
            reconnected: AtomicUsize::new(0),
        });
        let (finish, finishing) = watch::channel(None);
        let clients = clients
            .into_iter()
            .map(|(token, urls)| {
                let client = Client {
                    feed,
                    token,
                    urls,
                    counters: counters.clone(),
                    finishing: finishing.clone(),
                    cursor: None,
                    followed: Followed::default(),
                };
                tokio::spawn(client.run())
            })
            .collect();
        Fleet {
            clients,
            counters,
            finish,
        }
    }

    /// Clients that have been live (got `connected`) at least once.
    pub fn live(&self) -> usize {
        self.counters.live.load(Ordering::SeqCst)
    }

    /// Reconnections made so far, all clients together.
    pub fn reconnected(&self) -> usize {
        self.counters.reconnected.load(Ordering::SeqCst)
    }

    /// Tells every client to stop once it holds message `last`, at most `timeout` from now, and
    /// returns what each saw, in the order they were started.
    pub async fn finish(self, last: i64, timeout: Duration) -> Vec<Followed> {
        let deadline = Instant::now() + timeout;
        self.finish.send_replace(Some(Finish { last, deadline }));
        let mut all = Vec::with_capacity(self.clients.len());
        for client in self.clients {
            // Each client stops by itself at the deadline; the margin covers its last write.
            let followed = tokio::time::timeout(timeout + Duration::from_secs(10), client)
                .await
                .unwrap_or_else(|_| panic!("a client did not stop at its deadline"))
                .unwrap_or_else(|err| panic!("a client failed: {err}"));
            all.push(followed);
        }
        all
    }
}

struct Client {
    feed: Feed,
    token: String,
    urls: Vec<String>,
    counters: Arc<Counters>,
    finishing: watch::Receiver<Option<Finish>>,
    /// The cursor of the last event that had one (stored events, `connected`, `resync`).
    cursor: Option<String>,
    followed: Followed,
}

/// What a connection ended with.
enum Ended {
    /// The client has what it waited for, or its time is up.
    Done,
    /// The stream dropped or was refused: try the next instance.
    Dropped,
}

impl Client {
    async fn run(mut self) -> Followed {
        let mut attempt = 0usize;
        let mut opened = 0usize;
        loop {
            if let Some(finish) = self.stop() {
                self.followed.finished = self.holds(finish.last);
                return self.followed;
            }
            let url = self.urls[attempt % self.urls.len()].clone();
            let ended = match self.feed {
                Feed::Sse => self.follow_sse(&url, &mut opened).await,
                Feed::WebSocket => self.follow_ws(&url, &mut opened).await,
            };
            if let Ended::Dropped = ended {
                attempt += 1;
                tokio::time::sleep(RETRY).await;
            }
        }
    }

    /// The finish, once the client holds the last message or the deadline has passed.
    fn stop(&self) -> Option<Finish> {
        let finish = (*self.finishing.borrow())?;
        (self.holds(finish.last) || Instant::now() >= finish.deadline).then_some(finish)
    }

    fn holds(&self, message: i64) -> bool {
        self.followed
            .events
            .iter()
            .rev()
            .any(|event| event.message.is_some_and(|(_, id)| id == message))
    }

    fn opened(&mut self, opened: &mut usize) {
        if *opened > 0 {
            self.followed.reconnects += 1;
            self.counters.reconnected.fetch_add(1, Ordering::SeqCst);
        }
        *opened += 1;
    }

    fn connected(&mut self, opened: usize) {
        if opened == 1 {
            self.counters.live.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// A stored event: its cursor and envelope.
    fn stored(&mut self, cursor: &str, envelope: &Value) {
        let Some(seq) = cursor_seq(cursor) else {
            return;
        };
        self.cursor = Some(cursor.to_owned());
        let message = (envelope["kind"] == "message.created")
            .then(|| {
                Some((
                    envelope["chat_id"].as_i64()?,
                    envelope["data"]["id"].as_i64()?,
                ))
            })
            .flatten();
        self.followed.events.push(Received { seq, message });
    }

    /// Waits for the next item of `next`, or for the finish to be due.
    async fn next_or_stop<T>(&mut self, next: impl Future<Output = T>) -> Option<T> {
        let deadline = (*self.finishing.borrow()).map(|f| f.deadline);
        tokio::select! {
            item = next => Some(item),
            // Marks the finish seen: the next wait is for the deadline only.
            Ok(()) = self.finishing.changed() => None,
            _ = sleep_until_some(deadline) => None,
        }
    }

    async fn follow_sse(&mut self, url: &str, opened: &mut usize) -> Ended {
        let mut request = reqwest::Client::new()
            .get(format!("{url}/events"))
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(3600));
        if let Some(cursor) = &self.cursor {
            request = request.header("Last-Event-ID", cursor);
        }
        let response = match tokio::time::timeout(CONNECT_TIMEOUT, request.send()).await {
            Ok(Ok(response)) if response.status() == 200 => response,
            _ => return Ended::Dropped,
        };
        self.opened(opened);
        let mut events = response.bytes_stream().eventsource();
        loop {
            let event = match self.next_or_stop(events.next()).await {
                None if self.stop().is_some() => return Ended::Done,
                None => continue,
                Some(Some(Ok(event))) => event,
                Some(_) => return Ended::Dropped,
            };
            match event.event.as_str() {
                "connected" => {
                    self.cursor = Some(event.id);
                    self.connected(*opened);
                }
                "resync" => {
                    self.cursor = Some(event.id);
                    let data: Value = serde_json::from_str(&event.data).unwrap_or_default();
                    let reason = data["reason"].as_str().unwrap_or_default();
                    self.followed.resyncs.push(reason.to_owned());
                }
                "presence.changed" | "typing" => {}
                _ => {
                    let envelope = serde_json::from_str(&event.data).unwrap_or_default();
                    self.stored(&event.id, &envelope);
                }
            }
            if self.stop().is_some() {
                return Ended::Done;
            }
        }
    }

    async fn follow_ws(&mut self, url: &str, opened: &mut usize) -> Ended {
        let mut address = format!("{}/api/ws", url.replacen("http://", "ws://", 1));
        if let Some(cursor) = &self.cursor {
            address.push_str(&format!("?cursor={cursor}"));
        }
        let Ok(mut request) = address.into_client_request() else {
            return Ended::Dropped;
        };
        let Ok(bearer) = format!("Bearer {}", self.token).parse() else {
            return Ended::Dropped;
        };
        request.headers_mut().insert("authorization", bearer);
        let mut socket =
            match tokio::time::timeout(CONNECT_TIMEOUT, tokio_tungstenite::connect_async(request))
                .await
            {
                Ok(Ok((socket, _))) => socket,
                _ => return Ended::Dropped,
            };
        self.opened(opened);
        loop {
            let text = match self.next_or_stop(socket.next()).await {
                None if self.stop().is_some() => {
                    let _ = socket.close(None).await;
                    return Ended::Done;
                }
                None => continue,
                Some(Some(Ok(Message::Text(text)))) => text,
                Some(Some(Ok(Message::Ping(payload)))) => {
                    let _ = socket.send(Message::Pong(payload)).await;
                    continue;
                }
                Some(Some(Ok(Message::Close(_)))) | Some(Some(Err(_))) | Some(None) => {
                    return Ended::Dropped;
                }
                Some(Some(Ok(_))) => continue,
            };
            let frame: Value = serde_json::from_str(text.as_str()).unwrap_or_default();
            let cursor = frame["cursor"].as_str().unwrap_or_default().to_owned();
            match frame["type"].as_str() {
                Some("event") => self.stored(&cursor, &frame["event"]),
                Some("connected") => {
                    self.cursor = Some(cursor);
                    self.connected(*opened);
                }
                Some("resync") => {
                    self.cursor = Some(cursor);
                    let reason = frame["reason"].as_str().unwrap_or_default();
                    self.followed.resyncs.push(reason.to_owned());
                }
                _ => {}
            }
            if self.stop().is_some() {
                let _ = socket.close(None).await;
                return Ended::Done;
            }
        }
    }
}

async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
