//! When the relay looks for work: as soon as this instance commits a transaction that wrote an
//! event, and every poll interval in case nothing woke it (another process wrote the event, or the
//! instance stopped between its commit and the wake-up).
//!
//! The wake-up is in-process rather than a NOTIFY from the writing transaction: NOTIFY serialises
//! every committing transaction that sent one on a database-wide lock, which capped the send path
//! (see docs/benchmarks.md). Every instance that writes events runs a relay, so the writer's own
//! relay always hears of its commit; when another instance's relay holds the lock at that moment,
//! the relay retries shortly (`relay::BUSY_RETRY`) instead of waiting for the poll.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

/// Wakes this instance's relay; cloned into the `Deps` every writer has.
#[derive(Clone, Default)]
pub struct RelayWaker {
    notify: Arc<Notify>,
}

impl RelayWaker {
    /// Called after a commit that wrote events. Wake-ups while the relay is busy coalesce into one:
    /// its next look reads everything committed by then.
    pub fn committed(&self) {
        self.notify.notify_one();
    }
}

pub struct Wakeups {
    waker: RelayWaker,
    poll: Duration,
}

impl Wakeups {
    pub fn new(waker: RelayWaker, poll: Duration) -> Self {
        Self { waker, poll }
    }

    /// Returns on the next commit's wake-up (or one that arrived while the relay was publishing)
    /// or after the poll interval, whichever comes first.
    pub async fn next(&self) {
        tokio::select! {
            _ = self.waker.notify.notified() => {}
            _ = tokio::time::sleep(self.poll) => {}
        }
    }
}
