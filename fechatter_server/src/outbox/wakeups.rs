//! When the relay looks for work: on every commit that wrote an event (LISTEN/NOTIFY), and every
//! poll interval in case a notification was lost (notifications sent while the listener was
//! reconnecting are gone).

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;

use crate::repo::outbox::CHANNEL;

pub struct Wakeups {
    pool: PgPool,
    poll: Duration,
    listener: Option<PgListener>,
}

impl Wakeups {
    pub fn new(pool: PgPool, poll: Duration) -> Self {
        Self {
            pool,
            poll,
            listener: None,
        }
    }

    async fn listen(&self) -> Option<PgListener> {
        let connect = async {
            let mut listener = PgListener::connect_with(&self.pool).await?;
            listener.listen(CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        match tokio::time::timeout(self.poll, connect).await {
            Ok(Ok(listener)) => Some(listener),
            Ok(Err(err)) => {
                tracing::debug!(error = %err, "outbox listener not connected; polling");
                None
            }
            Err(_) => None,
        }
    }

    /// Returns on the next notification or after the poll interval, whichever comes first, and at
    /// once after (re)connecting: whatever was committed while nobody listened needs a look.
    pub async fn next(&mut self) {
        let Some(listener) = self.listener.as_mut() else {
            self.listener = self.listen().await;
            if self.listener.is_none() {
                tokio::time::sleep(self.poll).await;
            }
            return;
        };
        tokio::select! {
            received = listener.try_recv() => match received {
                Ok(Some(_)) => {}
                // The connection dropped; the next call reconnects and what was sent meanwhile
                // is lost, so the caller looks for work now.
                Ok(None) => {}
                Err(err) => {
                    tracing::debug!(error = %err, "outbox listener lost; reconnecting");
                    self.listener = None;
                }
            },
            _ = tokio::time::sleep(self.poll) => {}
        }
    }
}
