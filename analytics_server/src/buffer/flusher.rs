//! The single task that moves buffered events into ClickHouse: a batch whenever a full one is
//! waiting or the flush interval passes, retried with backoff until it is written.

use std::time::Duration;

use fechatter_events::delivery::Gate;
use tokio_util::sync::CancellationToken;

use super::{Buffer, Pending};
use crate::events::EventRow;
use crate::store::Store;

pub struct Flusher {
    pub buffer: Buffer,
    pub store: Store,
    /// Closed at a failed write, so the consumers stop taking events until ClickHouse is back.
    pub gate: Gate,
    pub interval: Duration,
    /// How long the last flush on shutdown may keep retrying.
    pub final_flush_timeout: Duration,
}

impl Flusher {
    /// Flushes until `stop` is cancelled, then once more with a deadline, then closes the buffer
    /// (waiting JetStream messages are nak'ed by their consumer and redelivered later).
    pub async fn run(self, stop: CancellationToken) {
        let mut tick = tokio::time::interval(self.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = self.buffer.full_batch_waiting() => {}
                _ = tick.tick() => {}
            }
            if !self.drain(&stop, false).await {
                break;
            }
        }
        let deadline = CancellationToken::new();
        let cancel = deadline.clone();
        let timeout = self.final_flush_timeout;
        let timer = tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            cancel.cancel();
        });
        self.drain(&deadline, true).await;
        timer.abort();
        let left = self.buffer.close();
        if left > 0 {
            tracing::error!(
                events = left,
                "shutting down with events ClickHouse did not take; they will be redelivered"
            );
        }
    }

    /// Writes one batch, then more while full ones are waiting (a partial one waits for the next
    /// tick, so inserts stay large under load); with `everything`, until the queue is empty.
    /// False when `stop` interrupted a retry.
    async fn drain(&self, stop: &CancellationToken, everything: bool) -> bool {
        loop {
            let mut in_hand = InHand {
                buffer: &self.buffer,
                batch: self.buffer.take_batch(),
            };
            if in_hand.batch.is_empty() {
                return true;
            }
            if !self.write(&in_hand.batch, stop).await {
                // Kept (by `in_hand`) for the final flush on shutdown.
                return false;
            }
            let batch = std::mem::take(&mut in_hand.batch);
            self.buffer.written(&batch);
            if !everything && !self.buffer.has_full_batch() {
                return true;
            }
        }
    }

    /// Retries until the batch is stored or `stop` is cancelled. After a failed attempt the
    /// server may still have stored the rows, so the next attempt first asks which ids it has and
    /// writes only the rest: a batch is never stored twice.
    async fn write(&self, batch: &[Pending], stop: &CancellationToken) -> bool {
        let mut rows: Vec<&EventRow> = batch.iter().map(|pending| &pending.row).collect();
        let mut delays = fechatter_events::nats::retry_forever();
        let mut outcome_unknown = false;
        loop {
            let attempt = async {
                if outcome_unknown {
                    let present = self.store.existing_ids(&rows).await?;
                    rows.retain(|row| !present.contains(&row.event_id));
                    outcome_unknown = false;
                }
                if rows.is_empty() {
                    return Ok(());
                }
                let inserted = self.store.insert(&rows).await;
                outcome_unknown = inserted.is_err();
                inserted
            };
            let failure = match attempt.await {
                Ok(()) => return true,
                Err(err) => err,
            };
            let delay = delays.next().unwrap_or(Duration::from_secs(5));
            tracing::warn!(error = %failure, rows = rows.len(), ?delay,
                "writing events to ClickHouse failed; retrying");
            self.gate.close(&failure.to_string());
            tokio::select! {
                _ = stop.cancelled() => return false,
                _ = tokio::time::sleep(delay) => {}
            }
        }
    }
}

/// A batch taken from the buffer: put back unless it was written, even when the writer panics
/// (its supervisor restarts it, and the events must still be there).
struct InHand<'a> {
    buffer: &'a Buffer,
    batch: Vec<Pending>,
}

impl Drop for InHand<'_> {
    fn drop(&mut self) {
        if !self.batch.is_empty() {
            self.buffer.requeue(std::mem::take(&mut self.batch));
        }
    }
}
