//! Plain sends wait here to be written together (`repo::sends::batch`): a few statements run at
//! once, and each takes every send that queued while the others ran. Under light load a send is
//! written alone as soon as it arrives (nothing waits for a batch to fill); under load the commit
//! and the statement's set-up are shared by the sends of a batch.

use std::sync::Arc;

use postgres_kit::is_unavailable;
use sqlx::PgPool;
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::config::SendBatchSettings;
use crate::repo::sends::Sent;
use crate::repo::sends::batch::{PlainSend, insert_plain};

/// Sends waiting at most before a sender waits for room.
const QUEUE_CAPACITY: usize = 4096;

type Reply = oneshot::Sender<Result<Sent, sqlx::Error>>;

/// The sending side, shared by every request of this instance.
#[derive(Clone)]
pub struct SendQueue {
    queued: mpsc::Sender<(PlainSend, Reply)>,
}

impl SendQueue {
    /// Starts the writer on the current runtime; it stops once every `SendQueue` is dropped.
    pub fn start(pool: PgPool, settings: SendBatchSettings) -> Self {
        let (queued, waiting) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(write_batches(pool, settings, waiting));
        Self { queued }
    }

    /// Writes `send` and its event, with whatever sends are waiting beside it.
    pub async fn write(&self, send: PlainSend) -> Result<Sent, sqlx::Error> {
        let (reply, written) = oneshot::channel();
        self.queued
            .send((send, reply))
            .await
            .map_err(|_| sqlx::Error::WorkerCrashed)?;
        written.await.map_err(|_| sqlx::Error::WorkerCrashed)?
    }
}

async fn write_batches(
    pool: PgPool,
    settings: SendBatchSettings,
    mut waiting: mpsc::Receiver<(PlainSend, Reply)>,
) {
    let running = Arc::new(Semaphore::new(settings.at_once));
    loop {
        // A free slot first, then everything that queued meanwhile: the busier the database,
        // the larger the next batch.
        let Ok(slot) = running.clone().acquire_owned().await else {
            return;
        };
        let mut batch = Vec::with_capacity(settings.max_sends);
        if waiting.recv_many(&mut batch, settings.max_sends).await == 0 {
            return;
        }
        let pool = pool.clone();
        tokio::spawn(async move {
            write_batch(&pool, batch).await;
            drop(slot);
        });
    }
}

async fn write_batch(pool: &PgPool, batch: Vec<(PlainSend, Reply)>) {
    let (sends, replies): (Vec<PlainSend>, Vec<Reply>) = batch.into_iter().unzip();
    for (reply, outcome) in replies.into_iter().zip(write_together(pool, sends).await) {
        // The request may have gone; its message is written all the same.
        let _ = reply.send(outcome);
    }
}

/// Writes `sends` in one statement. Should Postgres refuse the statement, each send alone, so
/// that one send's error (a value Postgres refuses) fails that send only; should Postgres be out
/// of reach, every send fails at once (one at a time, each would wait for a connection in turn).
/// The outcomes in the order of `sends`.
pub async fn write_together(
    pool: &PgPool,
    sends: Vec<PlainSend>,
) -> Vec<Result<Sent, sqlx::Error>> {
    match insert_plain(pool, &sends).await {
        Ok(written) => written.into_iter().map(Ok).collect(),
        Err(err) if sends.len() == 1 => vec![Err(err)],
        Err(err) if is_unavailable(&err) => {
            let reason = err.to_string();
            let mut outcomes = vec![Err(err)];
            outcomes.extend((1..sends.len()).map(|_| {
                // Each request needs an error of its own; all say why the batch could not run.
                Err(sqlx::Error::Io(std::io::Error::other(reason.clone())))
            }));
            outcomes
        }
        Err(err) => {
            tracing::warn!(error = %err, sends = sends.len(), "a batch of sends failed; writing them one by one");
            let mut outcomes = Vec::with_capacity(sends.len());
            for send in sends {
                outcomes.push(
                    insert_plain(pool, std::slice::from_ref(&send))
                        .await
                        .and_then(|mut sent| sent.pop().ok_or(sqlx::Error::RowNotFound)),
                );
            }
            outcomes
        }
    }
}
