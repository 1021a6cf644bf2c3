//! Applies other instances' cache invalidations (and this one's, harmlessly twice) as they arrive
//! on the NOTIFY channel.

use axum::extract::FromRef;
use fechatter_events::nats::until_ok;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;

use crate::cache::Caches;
use crate::repo::invalidations::{CHANNEL, Stale};

/// Listens until `shutdown`, reconnecting with backoff. Whenever the listener was not connected,
/// announcements may have been missed, so the caches are cleared.
pub async fn follow<S>(state: S, shutdown: CancellationToken)
where
    PgPool: FromRef<S>,
    Caches: FromRef<S>,
{
    let (pool, caches) = (PgPool::from_ref(&state), Caches::from_ref(&state));
    loop {
        let connect = || async {
            let mut listener = PgListener::connect_with(&pool).await?;
            listener.listen(CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        let Some(mut listener) = until_ok("cache invalidation listener", &shutdown, connect).await
        else {
            return;
        };
        caches.clear().await;
        loop {
            let received = tokio::select! {
                _ = shutdown.cancelled() => return,
                received = listener.try_recv() => received,
            };
            match received {
                Ok(Some(notification)) => match Stale::from_payload(notification.payload()) {
                    Some(stale) => caches.forget(stale).await,
                    None => tracing::warn!(
                        payload = notification.payload(),
                        "unknown cache invalidation"
                    ),
                },
                // The connection dropped; it reconnects on the next call, but what was announced
                // meanwhile is lost.
                Ok(None) => caches.clear().await,
                Err(err) => {
                    tracing::warn!(error = %err, "cache invalidation listener failed; reconnecting");
                    break;
                }
            }
        }
    }
}
