//! A view of the event log for the rest of the process: every event the one log reader accepts,
//! in stream order, and every moment from which events may arrive late without bound or not at
//! all. A process keeps state derived from events this way (fechatter_server's page cache)
//! without a second consumer of the stream.

use fechatter_events::Envelope;

pub trait EventObserver: Send + Sync {
    /// An event read for the first time, in stream order.
    fn event(&self, envelope: &Envelope);

    /// Whether the reader is subscribed. Every change is a possible gap: while it is not, events
    /// are not read (they arrive late, after a resumption, or are lost if the stream was created
    /// anew or trimmed meanwhile). Also called with `true` once more after an event that could
    /// not be read.
    fn feed(&self, subscribed: bool);
}
