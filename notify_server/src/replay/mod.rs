//! Catching a connection up before it goes live: what the user missed since `Last-Event-ID`,
//! read from JetStream, or one `resync` event when that is beyond the bounds.
//!
//! The connection is registered with the hub *before* the stream head is read, so every event
//! after the head arrives live; live events at or below the head (`CatchUp::floor`) are dropped as
//! the replay already covered them. No gap, no duplicate at the seam.

mod plan;

use std::time::Duration;

use async_nats::jetstream::{self, consumer};
use chrono::Utc;
use fechatter_events::{EventBus, UserId};
use futures::StreamExt;

pub use plan::{Plan, Resume, ResyncReason, plan, too_old};

use crate::config::ReplayConfig;
use crate::frame::{Frame, FrameKind};
use crate::observability::metrics::{NatsErrorReason, NatsMetrics, SseMetrics};
use crate::routing::route;

/// A replay that takes longer than this is abandoned for a `resync`.
const REPLAY_TIMEOUT: Duration = Duration::from_secs(10);

/// What a connection sends before its live events.
#[derive(Debug)]
pub struct CatchUp {
    pub frames: Vec<Frame>,
    /// Live events with a sequence at or below this were covered here and are dropped.
    pub floor: u64,
}

/// Everything one replay needs, owned so the work can run inside the connection's stream.
pub struct Replayer {
    pub jetstream: jetstream::Context,
    pub bus: EventBus,
    pub limits: ReplayConfig,
}

enum Replayed {
    Frames(Vec<Frame>),
    Beyond(ResyncReason),
}

impl Replayer {
    /// What `user`, resuming at `resume`, gets before live events.
    #[tracing::instrument(skip_all, fields(user = %user, ?resume))]
    pub async fn catch_up(&self, user: UserId, resume: Resume) -> CatchUp {
        let head = match tokio::time::timeout(REPLAY_TIMEOUT, self.head()).await {
            Ok(Ok(head)) => head,
            Ok(Err(err)) => return unavailable(resume, &err),
            Err(_) => return unavailable(resume, &"timed out"),
        };
        let after = match resume {
            Resume::Fresh => return connected(Some(head.last)),
            Resume::After(after) => after,
        };
        let (from, to) = match plan(after, head.first, head.last, self.limits.max_scan) {
            Plan::UpToDate => return connected(Some(head.last)),
            Plan::Resync(reason) => return resync(reason, after, Some(head.last)),
            Plan::Replay { from, to } => (from, to),
        };
        match tokio::time::timeout(REPLAY_TIMEOUT, self.read(user, from, to)).await {
            Ok(Ok(Replayed::Frames(mut frames))) => {
                SseMetrics::replayed(frames.len());
                frames.extend(connected(Some(to)).frames);
                CatchUp { frames, floor: to }
            }
            Ok(Ok(Replayed::Beyond(reason))) => resync(reason, after, Some(head.last)),
            Ok(Err(err)) => failed(after, head.last, &err),
            Err(_) => failed(after, head.last, &"timed out"),
        }
    }

    async fn head(&self) -> Result<Head, async_nats::Error> {
        let stream = self.jetstream.get_stream(&self.bus.stream).await?;
        let state = &stream.cached_info().state;
        Ok(Head {
            first: state.first_sequence,
            last: state.last_sequence,
        })
    }

    /// Reads sequences `from..=to` with an ephemeral ordered consumer, keeping the user's events.
    async fn read(&self, user: UserId, from: u64, to: u64) -> Result<Replayed, async_nats::Error> {
        let stream = self.jetstream.get_stream(&self.bus.stream).await?;
        let consumer = stream
            .create_consumer(consumer::pull::OrderedConfig {
                filter_subject: self.bus.all_events(),
                deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                    start_sequence: from,
                },
                ..Default::default()
            })
            .await?;
        let mut messages = consumer.messages().await?;
        let mut frames = Vec::new();
        let (mut first, mut age_checked) = (true, false);
        while let Some(message) = messages.next().await {
            let message = message?;
            let seq = message.info()?.stream_sequence;
            // Retention removed the oldest missed events after the plan was made.
            if std::mem::take(&mut first) && seq != from {
                return Ok(Replayed::Beyond(ResyncReason::Expired));
            }
            // Malformed events were dead-lettered by the live consumer; skip them here too.
            if let Ok(routed) = route(&self.bus, &message.subject, &message.payload, seq) {
                let occurred_at = routed.envelope.occurred_at;
                if !std::mem::replace(&mut age_checked, true)
                    && too_old(occurred_at, Utc::now(), self.limits.max_age)
                {
                    return Ok(Replayed::Beyond(ResyncReason::Expired));
                }
                if routed.envelope.is_for(user) {
                    if frames.len() == self.limits.max_events {
                        return Ok(Replayed::Beyond(ResyncReason::TooFarBehind));
                    }
                    frames.push(routed.frame);
                }
            }
            if seq >= to {
                return Ok(Replayed::Frames(frames));
            }
        }
        Err(format!("the stream ended before sequence {to}").into())
    }
}

fn unavailable(resume: Resume, error: &dyn std::fmt::Display) -> CatchUp {
    tracing::warn!(%error, "cannot read the stream head");
    NatsMetrics::error(NatsErrorReason::Replay);
    match resume {
        Resume::Fresh => connected(None),
        Resume::After(after) => resync(ResyncReason::Unavailable, after, None),
    }
}

fn failed(after: u64, head: u64, error: &dyn std::fmt::Display) -> CatchUp {
    tracing::warn!(%error, "replay failed");
    NatsMetrics::error(NatsErrorReason::Replay);
    resync(ResyncReason::Unavailable, after, Some(head))
}

struct Head {
    first: u64,
    last: u64,
}

/// The client is live from `head` on; the id moves its `Last-Event-ID` there.
fn connected(head: Option<u64>) -> CatchUp {
    let frame = Frame::signal(
        FrameKind::Connected,
        head,
        &serde_json::json!({ "last_event_id": head }),
    );
    CatchUp {
        frames: vec![frame],
        floor: head.unwrap_or(0),
    }
}

/// One `resync`: refetch over REST. Its id moves the client past what it cannot be replayed.
fn resync(reason: ResyncReason, after: u64, head: Option<u64>) -> CatchUp {
    let frame = Frame::signal(
        FrameKind::Resync,
        head,
        &serde_json::json!({ "reason": reason.as_str(), "last_event_id": after }),
    );
    CatchUp {
        frames: vec![frame],
        floor: head.unwrap_or(0),
    }
}
