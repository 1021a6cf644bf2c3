//! notify_server's `GET /events` as a browser's EventSource sees it, with bounded waits.

use std::pin::Pin;
use std::time::Duration;

use eventsource_stream::{Event, Eventsource};
use futures::{Stream, StreamExt};
use serde_json::Value;

type Events = Pin<Box<dyn Stream<Item = Result<Event, String>> + Send>>;

/// Events notify makes itself; everything else is a stored domain event.
pub const SIGNALS: &[&str] = &["connected", "resync", "presence.changed", "typing"];

/// One SSE connection.
pub struct Sse {
    events: Events,
    /// The `id:` of the last stored event received: what a reconnect sends as `Last-Event-ID`.
    pub last_event_id: Option<String>,
}

/// A stored domain event as received.
#[derive(Debug, Clone)]
pub struct Delivered {
    /// The JetStream sequence (of the SSE `id:`, a cursor `epoch:sequence`).
    pub seq: u64,
    pub kind: String,
    /// The event's envelope.
    pub envelope: Value,
}

impl Delivered {
    fn from_event(event: &Event) -> Option<Delivered> {
        if SIGNALS.contains(&event.event.as_str()) {
            return None;
        }
        Some(Delivered {
            seq: cursor_seq(&event.id)?,
            kind: event.event.clone(),
            envelope: serde_json::from_str(&event.data).ok()?,
        })
    }

    /// The message id of a `message.created` event.
    pub fn message_id(&self) -> Option<i64> {
        (self.kind == "message.created")
            .then(|| self.envelope["data"]["id"].as_i64())
            .flatten()
    }

    /// Whether this event belongs on the stream of `user`, a member of `chats`: an event of a chat
    /// goes to its members, a read marker and an event of no chat to the user who caused it. The
    /// frame does not list its recipients (notify routes by them and leaves them out), so the test
    /// knows who is where.
    pub fn belongs_to(&self, user: i64, chats: &[i64]) -> bool {
        envelope_belongs_to(&self.envelope, user, chats)
    }
}

/// Whether a pushed envelope (SSE or WebSocket) is for `user`, a member of `chats`: see
/// [`Delivery::belongs_to`].
pub fn envelope_belongs_to(envelope: &Value, user: i64, chats: &[i64]) -> bool {
    let own = envelope["actor_id"].as_i64() == Some(user);
    match envelope["chat_id"].as_i64() {
        _ if envelope["kind"] == "chat.read" || envelope["kind"] == "thread.read" => own,
        Some(chat) => chats.contains(&chat),
        None => own,
    }
}

impl Sse {
    /// Opens `GET {notify}/events` with `token` (resuming after `last_event_id`); the connection is
    /// registered once this returns.
    pub async fn open(notify: &str, token: &str, last_event_id: Option<&str>) -> Sse {
        let mut request = reqwest::Client::new()
            .get(format!("{notify}/events"))
            .bearer_auth(token);
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        Sse::send(request, last_event_id).await
    }

    /// Opens `GET {notify}/events?access_token=…`, as a browser's EventSource must (it cannot set
    /// headers), and reads up to its `connected` event.
    pub async fn connect_with_query_token(notify: &str, token: &str, timeout: Duration) -> Sse {
        let request = reqwest::Client::new()
            .get(format!("{notify}/events"))
            .query(&[("access_token", token)]);
        let mut sse = Sse::send(request, None).await;
        loop {
            if sse.next(timeout).await.event == "connected" {
                return sse;
            }
        }
    }

    async fn send(request: reqwest::RequestBuilder, last_event_id: Option<&str>) -> Sse {
        let response = tokio::time::timeout(Duration::from_secs(10), request.send())
            .await
            .unwrap_or_else(|_| panic!("GET /events did not answer within 10 s"))
            .unwrap_or_else(|err| panic!("GET /events: {err}"));
        assert_eq!(response.status(), 200, "GET /events");
        let events = response
            .bytes_stream()
            .eventsource()
            .map(|event| event.map_err(|err| err.to_string()));
        Sse {
            events: Box::pin(events),
            last_event_id: last_event_id.map(str::to_owned),
        }
    }

    /// Opens a connection and reads up to its `connected` event; returns the connection and the
    /// stored events replayed before it.
    pub async fn connect(
        notify: &str,
        token: &str,
        last_event_id: Option<&str>,
        timeout: Duration,
    ) -> (Sse, Vec<Delivered>) {
        let mut sse = Sse::open(notify, token, last_event_id).await;
        let mut replayed = Vec::new();
        loop {
            let event = sse.next(timeout).await;
            match event.event.as_str() {
                "connected" => return (sse, replayed),
                "resync" => panic!("a resync instead of a replay: {}", event.data),
                _ => replayed.extend(Delivered::from_event(&event)),
            }
        }
    }

    /// The next event of any kind; panics when none arrives within `timeout` or the stream ends.
    pub async fn next(&mut self, timeout: Duration) -> Event {
        let event = match tokio::time::timeout(timeout, self.events.next()).await {
            Ok(Some(Ok(event))) => event,
            Ok(Some(Err(err))) => panic!("SSE stream failed: {err}"),
            Ok(None) => panic!("SSE stream ended"),
            Err(_) => panic!("no SSE event within {timeout:?}"),
        };
        if !event.id.is_empty() && !SIGNALS.contains(&event.event.as_str()) {
            self.last_event_id = Some(event.id.clone());
        }
        event
    }

    /// Stored events until (and including) the first for which `done` holds; panics naming `what`
    /// when that takes longer than `timeout`.
    pub async fn until(
        &mut self,
        what: &str,
        timeout: Duration,
        mut done: impl FnMut(&Delivered) -> bool,
    ) -> Vec<Delivered> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let event = match tokio::time::timeout(left, self.events.next()).await {
                Ok(Some(Ok(event))) => event,
                Ok(Some(Err(err))) => panic!("SSE stream failed waiting for {what}: {err}"),
                Ok(None) => panic!("SSE stream ended waiting for {what}"),
                Err(_) => panic!(
                    "no {what} within {timeout:?}; got {:?}",
                    seen.iter()
                        .map(|d: &Delivered| (d.seq, d.kind.clone()))
                        .collect::<Vec<_>>()
                ),
            };
            if let Some(delivered) = Delivered::from_event(&event) {
                self.last_event_id = Some(event.id.clone());
                let finished = done(&delivered);
                seen.push(delivered);
                if finished {
                    return seen;
                }
            }
        }
    }

    /// Stored events until the message `id` arrives.
    pub async fn until_message(&mut self, id: i64, timeout: Duration) -> Vec<Delivered> {
        self.until(&format!("message {id}"), timeout, |d| {
            d.message_id() == Some(id)
        })
        .await
    }

    /// The data of the next signal named `name` (`typing`, `presence.changed`…), and the stored
    /// events that came before it.
    pub async fn until_signal(&mut self, name: &str, timeout: Duration) -> (Vec<Delivered>, Value) {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut passed = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let event = self.next(left).await;
            if event.event == name {
                let data = serde_json::from_str(&event.data).unwrap_or_default();
                return (passed, data);
            }
            passed.extend(Delivered::from_event(&event));
        }
    }
}

/// The stream sequence of a cursor `epoch:sequence`.
pub fn cursor_seq(cursor: &str) -> Option<u64> {
    cursor.split_once(':')?.1.parse().ok()
}

/// The message ids among `events`, in order.
pub fn message_ids(events: &[Delivered]) -> Vec<i64> {
    events.iter().filter_map(Delivered::message_id).collect()
}
