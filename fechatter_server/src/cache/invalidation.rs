//! Applies other instances' cache invalidations (and this one's, harmlessly twice) as they arrive
//! on the NOTIFY channel.

use fechatter_events::nats::until_ok;
use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;

use crate::repo::invalidations::{CHANNEL, Stale};
use crate::state::AppState;

/// Listens until `shutdown`, reconnecting with backoff. Whenever the listener was not connected,
/// announcements may have been missed, so the caches are cleared.
pub async fn follow(state: AppState, shutdown: CancellationToken) {
    loop {
        let connect = || async {
            let mut listener = PgListener::connect_with(state.pool()).await?;
            listener.listen(CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        let Some(mut listener) = until_ok("cache invalidation listener", &shutdown, connect).await
        else {
            return;
        };
        state.caches().clear().await;
        loop {
            let received = tokio::select! {
                _ = shutdown.cancelled() => return,
                received = listener.try_recv() => received,
            };
            match received {
                Ok(Some(notification)) => match Stale::from_payload(notification.payload()) {
                    Some(stale) => state.caches().forget(stale).await,
                    None => tracing::warn!(
                        payload = notification.payload(),
                        "unknown cache invalidation"
                    ),
                },
                // The connection dropped; it reconnects on the next call, but what was announced
                // meanwhile is lost.
                Ok(None) => state.caches().clear().await,
                Err(err) => {
                    tracing::warn!(error = %err, "cache invalidation listener failed; reconnecting");
                    break;
                }
            }
        }
    }
}
