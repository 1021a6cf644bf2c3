//! Deciding what a (re)connecting client gets before going live. Pure, so every bound is tested.

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};

/// Where a connection starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// No usable `Last-Event-ID`: live from now on.
    Fresh,
    /// The client last saw this stream sequence.
    After(u64),
}

impl Resume {
    /// From the `Last-Event-ID` header; a missing or malformed one means a fresh connect.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        headers
            .get("last-event-id")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse().ok())
            .map_or(Resume::Fresh, Resume::After)
    }
}

/// Why the server asks the client to refetch over REST instead of replaying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResyncReason {
    /// The client missed more events than a replay may hold, or the stream moved on further
    /// than a replay may scan.
    TooFarBehind,
    /// What the client missed is older than a replay may go back, or the stream no longer has it.
    Expired,
    /// The id is ahead of the stream (the stream was recreated).
    UnknownId,
    /// JetStream could not be read.
    Unavailable,
}

impl ResyncReason {
    pub const fn as_str(self) -> &'static str {
        match self {
            ResyncReason::TooFarBehind => "too_far_behind",
            ResyncReason::Expired => "expired",
            ResyncReason::UnknownId => "unknown_id",
            ResyncReason::Unavailable => "unavailable",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    UpToDate,
    /// Read stream sequences `from..=to`.
    Replay {
        from: u64,
        to: u64,
    },
    Resync(ResyncReason),
}

/// What to do for a client that last saw sequence `after`, given the stream's first and last
/// sequences and the most stream events a replay may scan.
pub fn plan(after: u64, first: u64, last: u64, max_scan: u64) -> Plan {
    if after > last {
        return Plan::Resync(ResyncReason::UnknownId);
    }
    if after == last {
        return Plan::UpToDate;
    }
    if after.saturating_add(1) < first {
        return Plan::Resync(ResyncReason::Expired);
    }
    if last - after > max_scan {
        return Plan::Resync(ResyncReason::TooFarBehind);
    }
    Plan::Replay {
        from: after + 1,
        to: last,
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

    #[test]
    fn a_client_behind_within_the_bounds_gets_exactly_what_it_missed() {
        assert_eq!(plan(10, 1, 15, 100), Plan::Replay { from: 11, to: 15 });
    }

    #[test]
    fn a_client_at_the_head_is_up_to_date() {
        assert_eq!(plan(15, 1, 15, 100), Plan::UpToDate);
        assert_eq!(plan(0, 0, 0, 100), Plan::UpToDate, "an empty stream");
    }

    #[test]
    fn a_client_beyond_the_count_bound_resyncs() {
        assert_eq!(
            plan(10, 1, 111, 100),
            Plan::Resync(ResyncReason::TooFarBehind)
        );
        assert_eq!(plan(11, 1, 111, 100), Plan::Replay { from: 12, to: 111 });
    }

    #[test]
    fn a_client_whose_missed_events_were_dropped_by_retention_resyncs() {
        assert_eq!(plan(10, 12, 20, 100), Plan::Resync(ResyncReason::Expired));
        assert_eq!(plan(10, 11, 20, 100), Plan::Replay { from: 11, to: 20 });
    }

    #[test]
    fn an_id_ahead_of_the_stream_resyncs() {
        assert_eq!(plan(30, 1, 20, 100), Plan::Resync(ResyncReason::UnknownId));
    }

    #[test]
    fn age_is_measured_from_the_first_missed_event() {
        let now = Utc::now();
        let hour = std::time::Duration::from_secs(3600);
        assert!(too_old(now - chrono::Duration::minutes(61), now, hour));
        assert!(!too_old(now - chrono::Duration::minutes(59), now, hour));
    }

    #[test]
    fn a_malformed_last_event_id_is_a_fresh_connect() {
        let mut headers = HeaderMap::new();
        assert_eq!(Resume::from_headers(&headers), Resume::Fresh);
        headers.insert("last-event-id", axum::http::HeaderValue::from_static("abc"));
        assert_eq!(Resume::from_headers(&headers), Resume::Fresh);
        headers.insert("last-event-id", axum::http::HeaderValue::from_static("-4"));
        assert_eq!(Resume::from_headers(&headers), Resume::Fresh);
        headers.insert(
            "last-event-id",
            axum::http::HeaderValue::from_static(" 42 "),
        );
        assert_eq!(Resume::from_headers(&headers), Resume::After(42));
    }
}
