//! What an instance learns from the log before it serves: the sessions revoked within the last
//! access-token lifetime, whose tokens may still be presented to it.

use std::time::Duration;

use async_nats::jetstream::consumer;
use chrono::Utc;
use fechatter_events::{Envelope, EventKind};
use futures::StreamExt;

use crate::core::PushCore;

/// The whole load gives up after this long (and is retried by the caller).
const LOAD_TIMEOUT: Duration = Duration::from_secs(20);

impl PushCore {
    /// Reads the `session.revoked` events of the last access-token lifetime and remembers them;
    /// returns how many were read. Events arriving meanwhile also reach the live reader; reading
    /// one twice is harmless.
    pub async fn load_revocations(&self) -> Result<usize, async_nats::Error> {
        tokio::time::timeout(LOAD_TIMEOUT, self.read_revocations())
            .await
            .map_err(|_| "reading recent session revocations timed out")?
    }

    async fn read_revocations(&self) -> Result<usize, async_nats::Error> {
        let since = Utc::now()
            - chrono::Duration::from_std(self.settings.access_token_ttl)
                .unwrap_or(chrono::Duration::zero());
        let start_time = time::OffsetDateTime::from_unix_timestamp(since.timestamp())?;
        let stream = self.jetstream.get_stream(&self.bus.stream).await?;
        let mut consumer = stream
            .create_consumer(consumer::pull::OrderedConfig {
                filter_subject: self.bus.subject(EventKind::SessionRevoked),
                deliver_policy: consumer::DeliverPolicy::ByStartTime { start_time },
                ..Default::default()
            })
            .await?;
        if consumer.info().await?.num_pending == 0 {
            return Ok(0);
        }
        let mut messages = consumer.messages().await?;
        let mut read = 0;
        while let Some(message) = messages.next().await {
            let message = message?;
            read += 1;
            match Envelope::from_json(&message.payload) {
                Ok(envelope) => self.on_session_revoked(&envelope),
                Err(err) => tracing::warn!(error = %err, "an unreadable session.revoked event"),
            }
            if message.info()?.pending == 0 {
                break;
            }
        }
        Ok(read)
    }
}
