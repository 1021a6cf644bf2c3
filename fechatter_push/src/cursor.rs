//! The client's place in the event log: `epoch:sequence` (see `docs/design/events.md`).
//!
//! The sequence alone is not enough: a stream that was deleted and created again starts counting
//! from 1, so an old sequence would point at unrelated events. The epoch names the stream
//! incarnation: its creation time from JetStream's stream info (NATS 2.9 has no stream metadata
//! to store an id in). It is the same on every instance, so a cursor handed out by one instance is
//! understood by any other.

use std::fmt;
use std::str::FromStr;

/// One incarnation of the event stream: its creation time in nanoseconds since 1970.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Epoch(pub u64);

impl Epoch {
    /// The epoch of a stream created at `created`.
    pub fn of_stream(info: &async_nats::jetstream::stream::Info) -> Epoch {
        let nanos = info.created.unix_timestamp_nanos();
        Epoch(u64::try_from(nanos).unwrap_or(0))
    }
}

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A position in one incarnation of the stream: the client has everything up to `seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cursor {
    pub epoch: Epoch,
    pub seq: u64,
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.epoch, self.seq)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a cursor is `epoch:sequence`, two unsigned integers")]
pub struct MalformedCursor;

impl FromStr for Cursor {
    type Err = MalformedCursor;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (epoch, seq) = text.trim().split_once(':').ok_or(MalformedCursor)?;
        let number = |part: &str| {
            // `u64::from_str` accepts a leading `+`; a cursor never has one.
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(MalformedCursor);
            }
            part.parse::<u64>().map_err(|_| MalformedCursor)
        };
        Ok(Cursor {
            epoch: Epoch(number(epoch)?),
            seq: number(seq)?,
        })
    }
}

/// Where a connection starts, from what the client sent (`Last-Event-ID`, `?cursor=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// Nothing usable: live from now on.
    Fresh,
    /// The client has everything up to this cursor.
    At(Cursor),
    /// A bare sequence, as servers before the epoch handed out: it cannot be placed in any
    /// incarnation of the stream, so the client is told to resync.
    Unplaceable,
}

impl Resume {
    /// Reads a client's cursor; anything that is neither a cursor nor a bare sequence (garbage)
    /// counts as a fresh connect, as it always did.
    pub fn parse(text: Option<&str>) -> Resume {
        let Some(text) = text.map(str::trim).filter(|text| !text.is_empty()) else {
            return Resume::Fresh;
        };
        if let Ok(cursor) = text.parse() {
            return Resume::At(cursor);
        }
        if text.bytes().all(|b| b.is_ascii_digit()) && text.parse::<u64>().is_ok() {
            return Resume::Unplaceable;
        }
        Resume::Fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_through_its_text() {
        let cursor = Cursor {
            epoch: Epoch(1_732_514_400_123_456_789),
            seq: 42,
        };
        assert_eq!(cursor.to_string(), "1732514400123456789:42");
        assert_eq!(cursor.to_string().parse(), Ok(cursor));
    }

    #[test]
    fn what_a_client_sends_is_a_cursor_a_bare_sequence_or_nothing() {
        let at = |epoch, seq| {
            Resume::At(Cursor {
                epoch: Epoch(epoch),
                seq,
            })
        };
        assert_eq!(Resume::parse(None), Resume::Fresh);
        assert_eq!(Resume::parse(Some("  ")), Resume::Fresh);
        assert_eq!(Resume::parse(Some(" 7:42 ")), at(7, 42));
        assert_eq!(Resume::parse(Some("42")), Resume::Unplaceable);
        for garbage in ["abc", "-4", "+4", "1:", ":1", "1:2:3", "1:-2", "x:1"] {
            assert_eq!(Resume::parse(Some(garbage)), Resume::Fresh, "{garbage}");
        }
    }
}
