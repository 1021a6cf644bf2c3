//! Deciding what a reconnecting client gets before going live. Pure, so every bound is tested.

use chrono::{DateTime, Utc};

use crate::core::ReplayLimits;
use crate::cursor::Cursor;
use crate::metrics::ReplayOutcome;

/// What to do for a client whose cursor is `cursor`, given where this instance's reader stands
/// (`position`), from which sequence on its ring covers the log, and the stream's first sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Nothing missed.
    UpToDate,
    /// The client saw events this instance has not read yet (it came from an instance further
    /// along): those arrive live here and are dropped up to the client's cursor.
    Ahead,
    /// Everything missed is in the ring.
    FromRing,
    /// Sequences `from..=to` must be read from JetStream, the rest is in the ring.
    FromStream {
        from: u64,
        to: u64,
    },
    Resync(ReplayOutcome),
}

pub fn plan(
    cursor: Cursor,
    position: Cursor,
    covered_from: u64,
    stream_first: u64,
    limits: &ReplayLimits,
) -> Plan {
    if cursor.epoch != position.epoch {
        return Plan::Resync(ReplayOutcome::ResyncEpoch);
    }
    // The stream dropped events the client has not seen (retention, a purge).
    if cursor.seq.saturating_add(1) < stream_first {
        return Plan::Resync(ReplayOutcome::ResyncTooOld);
    }
    if cursor.seq == position.seq {
        return Plan::UpToDate;
    }
    if cursor.seq > position.seq {
        return Plan::Ahead;
    }
    if position.seq - cursor.seq > limits.max_scan {
        return Plan::Resync(ReplayOutcome::ResyncTooMany);
    }
    let from = cursor.seq + 1;
    if from >= covered_from {
        Plan::FromRing
    } else {
        Plan::FromStream {
            from,
            to: covered_from - 1,
        }
    }
}

/// Whether the first missed event is too old to replay.
pub fn too_old(
    occurred_at: DateTime<Utc>,
    now: DateTime<Utc>,
    max_age: std::time::Duration,
) -> bool {
    chrono::Duration::from_std(max_age).is_ok_and(|max_age| now - occurred_at > max_age)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cursor::Epoch;

    const LIMITS: ReplayLimits = ReplayLimits {
        max_events: 1000,
        max_scan: 100,
        max_age: std::time::Duration::from_secs(3600),
    };

    fn at(seq: u64) -> Cursor {
        Cursor {
            epoch: Epoch(5),
            seq,
        }
    }

    #[test]
    fn a_client_behind_within_the_ring_is_replayed_from_memory() {
        assert_eq!(plan(at(10), at(15), 8, 0, &LIMITS), Plan::FromRing);
        assert_eq!(plan(at(10), at(15), 11, 0, &LIMITS), Plan::FromRing);
    }

    #[test]
    fn a_client_behind_the_ring_is_read_from_the_stream_up_to_the_ring() {
        assert_eq!(
            plan(at(10), at(50), 40, 0, &LIMITS),
            Plan::FromStream { from: 11, to: 39 }
        );
    }

    #[test]
    fn a_client_at_or_ahead_of_this_instance_needs_no_replay() {
        assert_eq!(plan(at(15), at(15), 1, 0, &LIMITS), Plan::UpToDate);
        assert_eq!(plan(at(16), at(15), 1, 0, &LIMITS), Plan::Ahead);
    }

    #[test]
    fn a_cursor_of_another_stream_incarnation_resyncs() {
        let old = Cursor {
            epoch: Epoch(4),
            seq: 15,
        };
        assert_eq!(
            plan(old, at(15), 1, 0, &LIMITS),
            Plan::Resync(ReplayOutcome::ResyncEpoch)
        );
    }

    #[test]
    fn a_client_whose_missed_events_left_the_stream_resyncs_as_too_old() {
        assert_eq!(
            plan(at(10), at(15), 1, 12, &LIMITS),
            Plan::Resync(ReplayOutcome::ResyncTooOld)
        );
        assert_eq!(plan(at(15), at(15), 16, 16, &LIMITS), Plan::UpToDate);
        assert_eq!(plan(at(10), at(15), 1, 11, &LIMITS), Plan::FromRing);
    }

    #[test]
    fn a_client_beyond_the_scan_bound_resyncs() {
        assert_eq!(
            plan(at(10), at(111), 1, 0, &LIMITS),
            Plan::Resync(ReplayOutcome::ResyncTooMany)
        );
        assert_eq!(plan(at(11), at(111), 1, 0, &LIMITS), Plan::FromRing);
    }

    #[test]
    fn age_is_measured_from_the_first_missed_event() {
        let now = Utc::now();
        let hour = std::time::Duration::from_secs(3600);
        assert!(too_old(now - chrono::Duration::minutes(61), now, hour));
        assert!(!too_old(now - chrono::Duration::minutes(59), now, hour));
    }
}
