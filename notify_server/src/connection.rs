//! One SSE connection: the push core's live connection as a stream of SSE events, with the
//! service's connection metrics.

use std::convert::Infallible;
use std::time::Instant;

use axum::response::sse::Event;
use fechatter_push::{Frame, LiveConnection, Outgoing};
use futures::Stream;

use crate::observability::metrics::SseMetrics;

/// An open SSE stream: counted from its creation to its drop, however it ends.
pub struct SseConnection {
    live: LiveConnection,
    opened: Instant,
}

impl SseConnection {
    pub fn new(live: LiveConnection) -> Self {
        SseMetrics::connection_opened();
        Self {
            live,
            opened: Instant::now(),
        }
    }

    pub fn into_stream(self) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
        futures::stream::unfold(self, |mut connection| async move {
            let outgoing = connection.live.next().await?;
            Some((Ok(connection.send(&outgoing)), connection))
        })
    }

    fn send(&self, outgoing: &Outgoing) -> Event {
        let name = outgoing.frame.name();
        SseMetrics::delivered(name);
        if let Some(lag) = outgoing.live_lag(chrono::Utc::now()) {
            SseMetrics::delivery_lag(name, lag);
        }
        to_sse(&outgoing.frame)
    }
}

impl Drop for SseConnection {
    fn drop(&mut self) {
        let reason = self.live.end_reason().as_str();
        tracing::debug!(reason, "SSE connection closed");
        SseMetrics::connection_closed(reason, self.opened.elapsed());
    }
}

/// `event:` the frame's name, `data:` its JSON, `id:` its cursor (what the client sends back as
/// `Last-Event-ID`) when it has one.
pub fn to_sse(frame: &Frame) -> Event {
    let event = Event::default()
        .event(frame.name())
        .data(frame.data.as_ref());
    match frame.cursor {
        Some(cursor) => event.id(cursor.to_string()),
        None => event,
    }
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
        let frame = Frame::event(EventKind::MessageCreated, cursor, chrono::Utc::now(), "{}");
        let text = format!("{:?}", to_sse(&frame));
        assert!(text.contains("id: 17:42"), "{text}");
        assert!(text.contains("event: message.created"), "{text}");
    }
}
