//! The SSE peer: the plainest hub axum and `tokio::sync::broadcast` give. Every subscriber gets
//! every published event; no auth, no per-user routing, no presence, no replay. A subscriber that
//! falls more than the channel's capacity behind is dropped, as notify cuts off a full buffer.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{get, post};
use futures::{Stream, StreamExt, stream};
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;

/// notify's default per-connection buffer (`NOTIFY_SSE_BUFFER`).
const CAPACITY: usize = 256;
/// notify's default keep-alive (`NOTIFY_SSE_KEEP_ALIVE_MS`).
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// The event name notify gives a new message.
const EVENT: &str = "message.created";

struct Published {
    seq: u64,
    data: String,
}

#[derive(Clone)]
struct Hub {
    sender: broadcast::Sender<Arc<Published>>,
}

async fn events(State(hub): State<Hub>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let live = BroadcastStream::new(hub.sender.subscribe())
        .take_while(|item| std::future::ready(item.is_ok()))
        .filter_map(|item| async move {
            item.ok().map(|published| {
                Ok(Event::default()
                    .event(EVENT)
                    .id(published.seq.to_string())
                    .data(&published.data))
            })
        });
    let connected = stream::once(async { Ok(Event::default().event("connected").data("{}")) });
    Sse::new(connected.chain(live)).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
}

/// `POST /publish` with the sequence in `x-seq` and the event JSON as the body.
async fn publish(State(hub): State<Hub>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let seq = headers
        .get("x-seq")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok());
    let (Some(seq), Ok(data)) = (seq, String::from_utf8(body.to_vec())) else {
        return StatusCode::BAD_REQUEST;
    };
    // No subscriber is not an error for a hub.
    let _ = hub.sender.send(Arc::new(Published { seq, data }));
    StatusCode::NO_CONTENT
}

pub async fn serve(listener: TcpListener) -> std::io::Result<()> {
    let (sender, _) = broadcast::channel(CAPACITY);
    let router = Router::new()
        .route("/events", get(events))
        .route("/publish", post(publish))
        .route("/live", get(|| async { StatusCode::OK }))
        .with_state(Hub { sender });
    axum::serve(listener, router).await
}
