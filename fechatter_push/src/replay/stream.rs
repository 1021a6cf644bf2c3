//! Reading missed events the ring no longer holds from JetStream, with a bounded number of such
//! reads at once.

use std::collections::HashSet;

use async_nats::jetstream::consumer;
use chrono::Utc;
use fechatter_events::{EventId, UserId};
use futures::StreamExt;

use super::plan::too_old;
use crate::core::PushCore;
use crate::cursor::{Cursor, Epoch};
use crate::frame::Outgoing;
use crate::metrics::ReplayOutcome;
use crate::route::{Routing, route};

pub(super) enum Read {
    Frames(Vec<Outgoing>),
    Beyond(ReplayOutcome),
}

/// The events of `user` among sequences `from..=to`. Only the routing fields of other users'
/// events are decoded.
pub(super) async fn read(
    core: &PushCore,
    user: UserId,
    epoch: Epoch,
    from: u64,
    to: u64,
) -> Result<Read, async_nats::Error> {
    // A reconnect storm reads JetStream a few at a time; the ring serves most reconnects without
    // a turn, and live delivery never waits for either.
    let _turn = core.replays.acquire().await?;
    let stream = core.jetstream.get_stream(&core.bus.stream).await?;
    if Epoch::of_stream(stream.cached_info()) != epoch {
        return Ok(Read::Beyond(ReplayOutcome::ResyncEpoch));
    }
    let consumer = stream
        .create_consumer(consumer::pull::OrderedConfig {
            filter_subject: core.bus.all_events(),
            deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                start_sequence: from,
            },
            ..Default::default()
        })
        .await?;
    let mut messages = consumer.messages().await?;
    let limits = &core.settings.replay;
    let mut frames = Vec::new();
    let mut seen: HashSet<EventId> = HashSet::new();
    let mut first = true;
    while let Some(message) = messages.next().await {
        let message = message?;
        let seq = message.info()?.stream_sequence;
        if std::mem::take(&mut first) {
            // Retention removed the oldest missed events after the plan was made.
            if seq != from {
                return Ok(Read::Beyond(ReplayOutcome::ResyncTooOld));
            }
            let routing = Routing::read(&message.payload);
            if routing.is_some_and(|r| too_old(r.occurred_at, Utc::now(), limits.max_age)) {
                return Ok(Read::Beyond(ReplayOutcome::ResyncTooOld));
            }
        }
        if seq > to {
            break;
        }
        // Malformed events were skipped live; they are skipped here too.
        if let Some(routing) = Routing::read(&message.payload).filter(|r| r.is_for(user)) {
            // A re-published event is sent once, under the sequence it was first pushed with.
            let repeat = !seen.insert(routing.id) || core.ring().is_repeat(routing.id, seq);
            let cursor = Cursor { epoch, seq };
            let routed = route(&core.bus, &message.subject, &message.payload, cursor);
            if let (false, Ok(routed)) = (repeat, routed) {
                if frames.len() == limits.max_events {
                    return Ok(Read::Beyond(ReplayOutcome::ResyncTooMany));
                }
                frames.push(Outgoing {
                    frame: routed.frame.into(),
                    replayed: true,
                });
            }
        }
        if seq >= to {
            break;
        }
    }
    Ok(Read::Frames(frames))
}
