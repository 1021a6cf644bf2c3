//! One SSE connection: the push core's live connection as a stream of SSE events, with the
//! service's connection metrics and keep-alive comments.

use std::convert::Infallible;
use std::pin::Pin;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use fechatter_push::{Frame, LiveConnection, Outgoing};
use futures::Stream;
use tokio::time::{Instant, Sleep};

use crate::observability::metrics::SseMetrics;

/// Written when nothing else was for a keep-alive interval, so proxies keep the stream open.
const KEEP_ALIVE: Bytes = Bytes::from_static(b": keep-alive\n\n");

/// An open SSE stream: counted from its creation to its drop, however it ends.
pub struct SseConnection {
    live: LiveConnection,
    opened: std::time::Instant,
    keep_alive: Duration,
    /// When the last bytes were written; the keep-alive timer is moved on only when it fires, not
    /// on every event (a timer update per delivery costs more than this comparison).
    last_write: Instant,
    timer: Pin<Box<Sleep>>,
}

impl SseConnection {
    pub fn new(live: LiveConnection, keep_alive: Duration) -> Self {
        SseMetrics::connection_opened();
        let now = Instant::now();
        Self {
            live,
            opened: std::time::Instant::now(),
            keep_alive,
            last_write: now,
            timer: Box::pin(tokio::time::sleep_until(now + keep_alive)),
        }
    }

    /// The connection's bytes: each frame's SSE event (encoded once for every connection that
    /// sends it), and a keep-alive comment after an interval without one.
    pub fn into_stream(self) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
        futures::stream::unfold(self, |mut connection| async move {
            let bytes = connection.next_bytes().await?;
            Some((Ok(bytes), connection))
        })
    }

    async fn next_bytes(&mut self) -> Option<Bytes> {
        loop {
            tokio::select! {
                biased;
                // Cancel-safe: a keep-alive written instead loses no frame.
                outgoing = self.live.next() => {
                    let outgoing = outgoing?;
                    self.last_write = Instant::now();
                    return Some(self.send(&outgoing));
                }
                () = self.timer.as_mut() => {
                    let due = self.last_write + self.keep_alive;
                    let now = Instant::now();
                    if due <= now {
                        self.last_write = now;
                        self.timer.as_mut().reset(now + self.keep_alive);
                        return Some(KEEP_ALIVE);
                    }
                    self.timer.as_mut().reset(due);
                }
            }
        }
    }

    fn send(&self, outgoing: &Outgoing) -> Bytes {
        let name = outgoing.frame.name();
        SseMetrics::delivered(name);
        if let Some(lag) = outgoing.live_lag(chrono::Utc::now()) {
            SseMetrics::delivery_lag(name, lag);
        }
        outgoing.frame.encoded(to_sse)
    }
}

impl Drop for SseConnection {
    fn drop(&mut self) {
        let reason = self.live.end_reason().as_str();
        tracing::debug!(reason, "SSE connection closed");
        SseMetrics::connection_closed(reason, self.opened.elapsed());
    }
}

/// `event:` the frame's name, `data:` its JSON (a field per line, should it hold line breaks), `id:`
/// its cursor (what the client sends back as `Last-Event-ID`) when it has one, as axum's SSE
/// `Event` writes them.
pub fn to_sse(frame: &Frame) -> Bytes {
    let name = frame.name();
    let mut text = BytesMut::with_capacity(name.len() + frame.data.len() + 48);
    text.put_slice(b"event: ");
    text.put_slice(name.as_bytes());
    text.put_u8(b'\n');
    for line in frame.data.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        text.put_slice(b"data: ");
        text.put_slice(line.as_bytes());
        text.put_u8(b'\n');
    }
    if let Some(cursor) = frame.cursor {
        text.put_slice(format!("id: {cursor}\n").as_bytes());
    }
    text.put_u8(b'\n');
    text.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use fechatter_events::EventKind;
    use fechatter_push::{Cursor, Epoch};

    #[test]
    fn a_stored_event_carries_its_cursor_as_the_sse_id() {
        let cursor = Cursor {
            epoch: Epoch(17),
            seq: 42,
        };
        let frame = Frame::event(
            EventKind::MessageCreated,
            cursor,
            chrono::Utc::now(),
            "{\"a\":1}",
        );
        assert_eq!(
            to_sse(&frame),
            "event: message.created\ndata: {\"a\":1}\nid: 17:42\n\n"
        );
    }

    #[test]
    fn data_with_line_breaks_becomes_one_data_line_each() {
        let cursor = Cursor {
            epoch: Epoch(1),
            seq: 2,
        };
        let frame = Frame::event(
            EventKind::MessageCreated,
            cursor,
            chrono::Utc::now(),
            "{\n\"a\":1\r\n}",
        );
        assert_eq!(
            to_sse(&frame),
            "event: message.created\ndata: {\ndata: \"a\":1\ndata: }\nid: 1:2\n\n"
        );
    }
}
