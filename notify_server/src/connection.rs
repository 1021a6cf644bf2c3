//! One SSE connection: catch-up frames first, then live frames from the hub, until the client
//! leaves, falls behind, its token expires or the server shuts down.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use axum::response::sse::Event;
use fechatter_events::{UserId, WorkspaceId};
use futures::Stream;
use futures::future::BoxFuture;
use tokio_util::sync::CancellationToken;

use crate::frame::Frame;
use crate::hub::{AtCapacity, ConnectionId, Hub, Mailbox, Received};
use crate::observability::metrics::{CloseReason, SseMetrics};
use crate::replay::CatchUp;

pub struct Connection {
    hub: Arc<Hub>,
    id: ConnectionId,
    mailbox: Arc<Mailbox>,
    closing: CancellationToken,
    token_expires: tokio::time::Instant,
    catch_up: Option<BoxFuture<'static, CatchUp>>,
    pending: VecDeque<Frame>,
    /// The highest stream sequence sent (or covered by the catch-up); anything at or below it is
    /// a duplicate.
    floor: u64,
    opened: Instant,
    closed: Option<CloseReason>,
}

/// Who the connection is for and when it must end.
pub struct Opening {
    pub user: UserId,
    pub workspace: WorkspaceId,
    pub token_expires: tokio::time::Instant,
    /// Cancelled when the server shuts down.
    pub closing: CancellationToken,
}

impl Connection {
    /// Registers with the hub at once, so nothing published from now on is missed, and runs
    /// `catch_up` when the stream is first polled.
    pub fn open(
        hub: Arc<Hub>,
        opening: Opening,
        catch_up: BoxFuture<'static, CatchUp>,
    ) -> Result<Self, AtCapacity> {
        let registration = hub.register(opening.user, opening.workspace)?;
        SseMetrics::connection_opened();
        Ok(Self {
            hub,
            id: registration.id,
            mailbox: registration.mailbox,
            closing: opening.closing,
            token_expires: opening.token_expires,
            catch_up: Some(catch_up),
            pending: VecDeque::new(),
            floor: 0,
            opened: Instant::now(),
            closed: None,
        })
    }

    pub fn into_stream(self) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
        futures::stream::unfold(self, |mut connection| async move {
            let event = connection.next().await?;
            Some((Ok(event), connection))
        })
    }

    fn end(&mut self, reason: CloseReason) {
        self.closed = Some(reason);
    }

    fn send(&mut self, frame: &Frame) -> Event {
        SseMetrics::delivered(frame.kind.as_str());
        frame.to_sse()
    }

    /// A frame of the live feed: its delivery lag is what a connected recipient waited. Replayed
    /// frames are not measured: their lag is how long the client was away.
    fn send_live(&mut self, frame: &Frame) -> Event {
        if let Some(occurred_at) = frame.occurred_at {
            let lag = (chrono::Utc::now() - occurred_at)
                .to_std()
                .unwrap_or_default();
            SseMetrics::delivery_lag(frame.kind.as_str(), lag);
        }
        self.send(frame)
    }

    async fn next(&mut self) -> Option<Event> {
        loop {
            if self.closed.is_some() {
                return None;
            }
            if let Some(frame) = self.pending.pop_front() {
                return Some(self.send(&frame));
            }
            if let Some(catch_up) = self.catch_up.take() {
                tokio::select! {
                    biased;
                    _ = self.closing.cancelled() => self.end(CloseReason::Shutdown),
                    _ = self.mailbox.cut_off_signal() => self.end(CloseReason::SlowConsumer),
                    _ = tokio::time::sleep_until(self.token_expires) => self.end(CloseReason::TokenExpired),
                    catch_up = catch_up => {
                        self.pending.extend(catch_up.frames);
                        self.floor = catch_up.floor;
                    }
                }
                continue;
            }
            tokio::select! {
                biased;
                _ = self.closing.cancelled() => self.end(CloseReason::Shutdown),
                _ = tokio::time::sleep_until(self.token_expires) => self.end(CloseReason::TokenExpired),
                received = self.mailbox.recv() => match received {
                    Received::CutOff => self.end(CloseReason::SlowConsumer),
                    Received::Frame(frame) => {
                        if let Some(seq) = frame.seq {
                            if seq <= self.floor {
                                continue;
                            }
                            self.floor = seq;
                        }
                        return Some(self.send_live(&frame));
                    }
                },
            }
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.hub.unregister(self.id);
        // A connection the hub cut off may end only later, when the server gives up writing to it.
        let reason = self.closed.unwrap_or(if self.mailbox.is_cut_off() {
            CloseReason::SlowConsumer
        } else {
            CloseReason::ClientClosed
        });
        tracing::debug!(reason = reason.as_str(), "SSE connection closed");
        SseMetrics::connection_closed(reason, self.opened.elapsed());
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::frame::FrameKind;
    use fechatter_events::EventKind;
    use futures::StreamExt;

    const WS: WorkspaceId = WorkspaceId(1);

    fn opening(user: i64, closing: &CancellationToken) -> Opening {
        Opening {
            user: UserId(user),
            workspace: WS,
            token_expires: tokio::time::Instant::now() + Duration::from_secs(60),
            closing: closing.clone(),
        }
    }

    fn caught_up_at(floor: u64) -> BoxFuture<'static, CatchUp> {
        Box::pin(async move {
            CatchUp {
                frames: vec![Frame::signal(
                    FrameKind::Connected,
                    Some(floor),
                    &serde_json::json!({}),
                )],
                floor,
            }
        })
    }

    fn event(seq: u64) -> Frame {
        Frame::event(
            EventKind::MessageCreated,
            seq,
            chrono::Utc::now(),
            format!("{{\"seq\":{seq}}}"),
        )
    }

    async fn next_event_text<S>(stream: &mut S) -> String
    where
        S: Stream<Item = Result<Event, Infallible>> + Unpin,
    {
        let next = tokio::time::timeout(Duration::from_secs(5), stream.next()).await;
        match next {
            Ok(Some(Ok(event))) => format!("{event:?}"),
            other => panic!("expected an event, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn live_events_covered_by_the_catch_up_or_already_sent_are_dropped() {
        let hub = Arc::new(Hub::new(16, 16));
        let closing = CancellationToken::new();
        let connection = Connection::open(hub.clone(), opening(1, &closing), caught_up_at(5))
            .unwrap_or_else(|err| panic!("{err}"));
        for seq in [4, 5, 6, 6, 7] {
            hub.deliver(&[UserId(1)], event(seq));
        }
        let mut stream = Box::pin(connection.into_stream());
        assert!(next_event_text(&mut stream).await.contains("connected"));
        assert!(next_event_text(&mut stream).await.contains("seq\\\":6"));
        assert!(next_event_text(&mut stream).await.contains("seq\\\":7"));
        closing.cancel();
        assert!(stream.next().await.is_none(), "shutdown ends the stream");
    }

    #[tokio::test]
    async fn a_connection_cut_off_by_the_hub_ends_and_unregisters() {
        let hub = Arc::new(Hub::new(1, 16));
        let closing = CancellationToken::new();
        let connection = Connection::open(hub.clone(), opening(1, &closing), caught_up_at(0))
            .unwrap_or_else(|err| panic!("{err}"));
        for seq in 1..=3 {
            hub.deliver(&[UserId(1)], event(seq));
        }
        let stream = connection.into_stream();
        let sent = tokio::time::timeout(Duration::from_secs(5), stream.collect::<Vec<_>>()).await;
        assert!(
            sent.is_ok_and(|events| events.len() <= 1),
            "the stream ends"
        );
        assert!(hub.online_users(WS).is_empty());
    }
}
