//! One connection's queue of frames: bounded, holding no allocation while empty, and closed by the
//! hub when the connection must end (it fell behind, its session was revoked, the server stops).
//!
//! It replaces a bounded `tokio::sync::mpsc` channel plus a `CancellationToken`, which together
//! held about a kilobyte per idle connection (the channel's cache-padded state and its first block
//! of 32 slots are allocated up front); tens of thousands of idle connections are the normal load.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

use crate::frame::Frame;

/// A queue that grew past this many slots during a burst gives its memory back once drained.
const KEPT_CAPACITY: usize = 8;

/// Why the hub ended a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// Its buffer was full when an event arrived: it could not keep up.
    SlowConsumer,
    /// Its sign-in session was revoked.
    SessionRevoked,
    /// The server is shutting down.
    Shutdown,
}

pub struct Mailbox {
    state: Mutex<State>,
    /// Woken on a new frame and on the close; one waiter, the connection.
    changed: Notify,
}

struct State {
    frames: VecDeque<Arc<Frame>>,
    limit: usize,
    closed: Option<Closed>,
}

/// What became of a frame offered to a mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offered {
    Queued,
    /// The mailbox holds `limit` frames already: its connection cannot keep up.
    Full,
    /// The connection was closed before.
    Closed,
}

/// What a connection takes from its mailbox.
#[derive(Debug)]
pub enum Received {
    Frame(Arc<Frame>),
    Closed(Closed),
}

impl Mailbox {
    /// A mailbox for at most `limit` frames.
    pub fn new(limit: usize) -> Self {
        Self {
            state: Mutex::new(State {
                frames: VecDeque::new(),
                limit: limit.max(1),
                closed: None,
            }),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every method leaves the state consistent, so a panic elsewhere leaves it usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `frame` without waiting: a full mailbox is reported, never grown.
    pub fn offer(&self, frame: &Arc<Frame>) -> Offered {
        let mut state = self.lock();
        if state.closed.is_some() {
            return Offered::Closed;
        }
        if state.frames.len() >= state.limit {
            return Offered::Full;
        }
        state.frames.push_back(Arc::clone(frame));
        drop(state);
        self.changed.notify_one();
        Offered::Queued
    }

    /// Ends the connection: what is queued is dropped, the connection ends. The first reason
    /// given is kept.
    pub fn close(&self, reason: Closed) {
        let mut state = self.lock();
        state.closed.get_or_insert(reason);
        state.frames = VecDeque::new();
        drop(state);
        self.changed.notify_one();
    }

    pub fn closed(&self) -> Option<Closed> {
        self.lock().closed
    }

    /// The next frame, waiting for one; `Closed` once the hub has ended the connection.
    pub async fn recv(&self) -> Received {
        loop {
            if let Some(received) = self.try_recv() {
                return received;
            }
            // A notification sent since the check above is kept as a permit: none is lost.
            self.changed.notified().await;
        }
    }

    /// Waits until the hub ends the connection, leaving queued frames in place.
    pub async fn close_signal(&self) -> Closed {
        // A frame's wake-up taken here costs `recv` nothing: it looks at the queue before waiting.
        loop {
            if let Some(reason) = self.closed() {
                return reason;
            }
            self.changed.notified().await;
        }
    }

    pub fn try_recv(&self) -> Option<Received> {
        let mut state = self.lock();
        if let Some(reason) = state.closed {
            return Some(Received::Closed(reason));
        }
        let frame = state.frames.pop_front()?;
        if state.frames.is_empty() && state.frames.capacity() > KEPT_CAPACITY {
            state.frames = VecDeque::new();
        }
        Some(Received::Frame(frame))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::frame::FrameKind;

    fn frame() -> Arc<Frame> {
        Arc::new(Frame::signal(
            FrameKind::Typing,
            None,
            &serde_json::json!({}),
        ))
    }

    #[test]
    fn a_full_mailbox_refuses_instead_of_growing() {
        let mailbox = Mailbox::new(2);
        assert_eq!(mailbox.offer(&frame()), Offered::Queued);
        assert_eq!(mailbox.offer(&frame()), Offered::Queued);
        assert_eq!(mailbox.offer(&frame()), Offered::Full);
        assert!(matches!(mailbox.try_recv(), Some(Received::Frame(_))));
        assert_eq!(mailbox.offer(&frame()), Offered::Queued);
    }

    #[test]
    fn a_drained_burst_gives_its_memory_back() {
        let mailbox = Mailbox::new(64);
        for _ in 0..40 {
            mailbox.offer(&frame());
        }
        while let Some(Received::Frame(_)) = mailbox.try_recv() {}
        assert_eq!(mailbox.lock().frames.capacity(), 0);
    }

    #[test]
    fn the_first_reason_to_close_is_kept() {
        let mailbox = Mailbox::new(4);
        mailbox.close(Closed::SessionRevoked);
        mailbox.close(Closed::Shutdown);
        assert_eq!(mailbox.closed(), Some(Closed::SessionRevoked));
        assert_eq!(mailbox.offer(&frame()), Offered::Closed);
    }

    #[tokio::test]
    async fn a_waiting_receiver_wakes_for_a_frame_and_for_the_close() {
        let mailbox = Arc::new(Mailbox::new(4));
        let receiver = {
            let mailbox = mailbox.clone();
            tokio::spawn(async move {
                let first = mailbox.recv().await;
                let second = mailbox.recv().await;
                (first, second)
            })
        };
        mailbox.offer(&frame());
        mailbox.close(Closed::SlowConsumer);
        let received = tokio::time::timeout(Duration::from_secs(5), receiver).await;
        let Ok(Ok((first, second))) = received else {
            panic!("the receiver did not wake: {received:?}");
        };
        // The close may overtake the frame; after it, nothing else is received.
        assert!(
            matches!(second, Received::Closed(Closed::SlowConsumer)),
            "{first:?} {second:?}"
        );
    }
}
