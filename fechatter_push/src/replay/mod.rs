//! Catching a connection up before it goes live: what the user missed since their cursor, from the
//! ring first and from JetStream beyond it, or one `resync` when that is out of bounds.
//!
//! The connection is registered with the hub *before* the ring is looked at, so every event after
//! the position read arrives live; live events at or below it (`CatchUp::floor`) are dropped as the
//! replay covered them. No gap, no duplicate at the seam.

mod plan;
mod stream;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use fechatter_events::UserId;

pub use plan::{Plan, plan, too_old};

use crate::core::PushCore;
use crate::cursor::{Cursor, Resume};
use crate::frame::{Frame, FrameKind, Outgoing};
use crate::metrics::{LogError, ReplayOutcome};
use stream::Read;

/// A catch-up that takes longer than this is abandoned for a `resync`.
const REPLAY_TIMEOUT: Duration = Duration::from_secs(10);

/// What a connection sends before its live events.
#[derive(Debug)]
pub struct CatchUp {
    pub frames: Vec<Outgoing>,
    /// Where the client stands once these are sent: live events at or below it are dropped.
    pub position: Option<Cursor>,
}

/// What `user`, resuming at `resume`, gets before live events.
#[tracing::instrument(skip_all, fields(user = %user, ?resume))]
pub async fn catch_up(core: Arc<PushCore>, user: UserId, resume: Resume) -> CatchUp {
    // Connections are opened only once the reader has found the stream.
    let Some(position) = core.position() else {
        return finish(&core, ReplayOutcome::ResyncUnavailable, 0, None);
    };
    let cursor = match resume {
        Resume::Fresh => return connected(Some(position), Vec::new()),
        Resume::Unplaceable => return finish(&core, ReplayOutcome::ResyncEpoch, 0, Some(position)),
        Resume::At(cursor) => cursor,
    };
    let Some(snapshot) = core.ring().snapshot(cursor.seq, user) else {
        return finish(&core, ReplayOutcome::ResyncUnavailable, 0, None);
    };
    let position = snapshot.position;
    let limits = &core.settings.replay;
    let from_stream = match plan(
        cursor,
        position,
        snapshot.covered_from,
        snapshot.stream_first,
        limits,
    ) {
        Plan::UpToDate => return recovered(&core, Vec::new(), position),
        Plan::Ahead => return ahead(&core, cursor).await,
        Plan::Resync(outcome) => return finish(&core, outcome, 0, Some(position)),
        Plan::FromRing => None,
        Plan::FromStream { from, to } => Some((from, to)),
    };
    let mut frames = match from_stream {
        None => {
            if snapshot
                .first_missed_at
                .is_some_and(|at| too_old(at, Utc::now(), limits.max_age))
            {
                return finish(&core, ReplayOutcome::ResyncTooOld, 0, Some(position));
            }
            Vec::new()
        }
        Some((from, to)) => {
            let read = stream::read(&core, user, position.epoch, from, to);
            match tokio::time::timeout(REPLAY_TIMEOUT, read).await {
                Ok(Ok(Read::Frames(frames))) => frames,
                Ok(Ok(Read::Beyond(outcome))) => return finish(&core, outcome, 0, Some(position)),
                Ok(Err(err)) => return failed(&core, position, &err),
                Err(_) => return failed(&core, position, &"timed out"),
            }
        }
    };
    frames.extend(snapshot.entries.iter().map(|entry| Outgoing {
        frame: entry.frame.clone(),
        replayed: true,
    }));
    if frames.len() > limits.max_events {
        return finish(&core, ReplayOutcome::ResyncTooMany, 0, Some(position));
    }
    recovered(&core, frames, position)
}

/// The client saw events this instance has not read yet. Its cursor must exist in the stream
/// (anything else was never handed out for this incarnation); what lies between arrives live and
/// is dropped up to it.
async fn ahead(core: &PushCore, cursor: Cursor) -> CatchUp {
    let last = async {
        let stream = core.jetstream.get_stream(&core.bus.stream).await?;
        Ok::<_, async_nats::Error>(stream.cached_info().state.last_sequence)
    };
    match tokio::time::timeout(REPLAY_TIMEOUT, last).await {
        Ok(Ok(last)) if cursor.seq <= last => recovered(core, Vec::new(), cursor),
        Ok(Ok(_)) => finish(core, ReplayOutcome::ResyncEpoch, 0, core.position()),
        Ok(Err(err)) => failed(core, cursor, &err),
        Err(_) => failed(core, cursor, &"timed out"),
    }
}

fn failed(core: &PushCore, position: Cursor, error: &dyn std::fmt::Display) -> CatchUp {
    tracing::warn!(%error, "replay from JetStream failed");
    core.metrics.log_error(LogError::Replay);
    finish(core, ReplayOutcome::ResyncUnavailable, 0, Some(position))
}

fn recovered(core: &PushCore, frames: Vec<Outgoing>, position: Cursor) -> CatchUp {
    core.metrics.replay(ReplayOutcome::Recovered, frames.len());
    connected(Some(position), frames)
}

/// Records the outcome; a resync is the one frame sent.
fn finish(
    core: &PushCore,
    outcome: ReplayOutcome,
    replayed: usize,
    position: Option<Cursor>,
) -> CatchUp {
    core.metrics.replay(outcome, replayed);
    CatchUp {
        frames: vec![Outgoing {
            frame: Arc::new(Frame::resync(outcome, position)),
            replayed: false,
        }],
        position,
    }
}

/// The replayed frames, then `connected`: the client is live from `position` on.
fn connected(position: Option<Cursor>, mut frames: Vec<Outgoing>) -> CatchUp {
    let cursor = position.map(|cursor| cursor.to_string());
    frames.push(Outgoing {
        frame: Arc::new(Frame::signal(
            FrameKind::Connected,
            position,
            &serde_json::json!({ "cursor": cursor }),
        )),
        replayed: false,
    });
    CatchUp { frames, position }
}
