//! In-process caches for hot reads: sessions (every authenticated request), chat membership (every
//! chat route) and users. Each is a moka cache with a TTL. A change that makes an entry stale
//! invalidates it here at once and announces it to the other instances (NOTIFY, see
//! [`invalidation`]); the TTL bounds staleness should an announcement be lost. Absent values are
//! not cached, so a new row is visible immediately.
//!
//! A load races with invalidations: it may read a row just before a sign-out commits and finish
//! just after the sign-out invalidated the entry, which would put the session back as open. Each
//! cache therefore has a generation, bumped by every invalidation and every direct insert; a load
//! caches its value only if the generation is the one it started under (checked and inserted
//! under the same lock an invalidation takes), so a revocation can never be undone by a load.

pub mod invalidation;
pub mod pages;

use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fechatter_events::{ChatId, UserId};
use moka::future::Cache;
use sqlx::PgPool;
use uuid::Uuid;

use crate::config::{CacheSettings, PageCacheSettings};
use crate::models::{ChatAccess, User};
use crate::observability::metrics::{BusinessMetrics, CacheMetrics, CacheName, CacheOperation};
use crate::repo::invalidations::Stale;
use crate::repo::sessions::SessionState;

/// A moka cache that reports its hits, misses, timings and size.
#[derive(Clone)]
pub struct MeteredCache<K, V> {
    name: CacheName,
    inner: Cache<K, V>,
    /// Bumped by every change made without a load; a load started under an older generation does
    /// not cache what it read.
    generation: Arc<tokio::sync::Mutex<u64>>,
}

impl<K, V> MeteredCache<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    pub fn new(name: CacheName, settings: CacheSettings) -> Self {
        Self {
            name,
            inner: Cache::builder()
                .max_capacity(settings.max_entries)
                .time_to_live(settings.ttl)
                .build(),
            generation: Arc::new(tokio::sync::Mutex::new(0)),
        }
    }

    /// The cached value, or else the loaded one (cached when present).
    pub async fn get_or_load<E, F, Fut>(&self, key: K, load: F) -> Result<Option<V>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<V>, E>>,
    {
        let started = Instant::now();
        if let Some(value) = self.inner.get(&key).await {
            CacheMetrics::lookup(self.name, true);
            CacheMetrics::operation(self.name, CacheOperation::Hit, started.elapsed());
            return Ok(Some(value));
        }
        CacheMetrics::lookup(self.name, false);
        let began_under = *self.generation.lock().await;
        let loaded = load().await?;
        if let Some(value) = &loaded {
            let generation = self.generation.lock().await;
            if *generation == began_under {
                self.inner.insert(key, value.clone()).await;
            }
        }
        CacheMetrics::operation(self.name, CacheOperation::Load, started.elapsed());
        Ok(loaded)
    }

    /// Sets a value known to be current (a revocation this instance just committed).
    pub async fn insert(&self, key: K, value: V) {
        let mut generation = self.generation.lock().await;
        *generation += 1;
        self.inner.insert(key, value).await;
    }

    pub async fn invalidate(&self, key: &K) {
        let started = Instant::now();
        let mut generation = self.generation.lock().await;
        *generation += 1;
        self.inner.invalidate(key).await;
        drop(generation);
        CacheMetrics::operation(self.name, CacheOperation::Invalidate, started.elapsed());
    }

    pub async fn invalidate_all(&self) {
        let mut generation = self.generation.lock().await;
        *generation += 1;
        self.inner.invalidate_all();
    }

    /// The cached value, without loading or counting a lookup.
    pub async fn peek(&self, key: &K) -> Option<V> {
        self.inner.get(key).await
    }

    async fn sample(&self) {
        self.inner.run_pending_tasks().await;
        CacheMetrics::entries(self.name, self.inner.entry_count());
    }
}

/// The users seen in the last five minutes, for `fechatter_users_active`.
#[derive(Clone)]
pub struct ActiveUsers {
    seen: Cache<UserId, ()>,
}

impl ActiveUsers {
    pub const WINDOW: Duration = Duration::from_secs(5 * 60);

    fn new() -> Self {
        Self {
            seen: Cache::builder().time_to_idle(Self::WINDOW).build(),
        }
    }

    pub async fn seen(&self, user: UserId) {
        // A read refreshes the idle timer; only a first sighting pays for an insert.
        if self.seen.get(&user).await.is_none() {
            self.seen.insert(user, ()).await;
        }
    }

    async fn sample(&self) {
        self.seen.run_pending_tasks().await;
        BusinessMetrics::users_active(self.seen.entry_count());
    }
}

#[derive(Clone)]
pub struct Caches {
    pub sessions: MeteredCache<Uuid, SessionState>,
    pub chats: MeteredCache<ChatId, Arc<ChatAccess>>,
    pub users: MeteredCache<UserId, Arc<User>>,
    pub active_users: ActiveUsers,
    /// Message-list pages, kept exact by the event log rather than by NOTIFY (see [`pages`]).
    pub pages: pages::PageCache,
}

impl Caches {
    pub fn new(settings: CacheSettings, page_settings: PageCacheSettings) -> Self {
        Self {
            sessions: MeteredCache::new(CacheName::Sessions, settings),
            chats: MeteredCache::new(CacheName::Chats, settings),
            users: MeteredCache::new(CacheName::Users, settings),
            active_users: ActiveUsers::new(),
            pages: pages::PageCache::new(page_settings),
        }
    }

    /// A user by id, read through the users cache (the use cases and the rate limiter's bot check
    /// share it).
    pub async fn user(&self, pool: &PgPool, id: UserId) -> Result<Option<Arc<User>>, sqlx::Error> {
        self.users
            .get_or_load(id, || async move {
                Ok(crate::repo::users::find(pool, id).await?.map(Arc::new))
            })
            .await
    }

    /// Drops whatever `stale` names.
    pub async fn forget(&self, stale: Stale) {
        match stale {
            Stale::Chat(chat) => self.chats.invalidate(&chat).await,
            Stale::Session(session) => self.sessions.invalidate(&session).await,
        }
    }

    /// Drops everything shared with other instances, for when announcements may have been missed.
    pub async fn clear(&self) {
        self.sessions.invalidate_all().await;
        self.chats.invalidate_all().await;
        self.users.invalidate_all().await;
    }

    /// Updates the size gauges (`fechatter_cache_entries`, `fechatter_users_active`).
    pub async fn sample(&self) {
        self.sessions.sample().await;
        self.chats.sample().await;
        self.users.sample().await;
        self.pages.sample();
        self.active_users.sample().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> CacheSettings {
        CacheSettings {
            ttl: Duration::from_secs(60),
            max_entries: 100,
        }
    }

    #[tokio::test]
    async fn a_loaded_value_is_served_from_the_cache_until_invalidated() {
        let cache: MeteredCache<u32, u32> = MeteredCache::new(CacheName::Users, settings());
        let load = |value| move || async move { Ok::<_, ()>(Some(value)) };
        assert_eq!(cache.get_or_load(1, load(10)).await, Ok(Some(10)));
        assert_eq!(cache.get_or_load(1, load(20)).await, Ok(Some(10)));
        cache.invalidate(&1).await;
        assert_eq!(cache.get_or_load(1, load(30)).await, Ok(Some(30)));
    }

    #[tokio::test]
    async fn a_load_that_began_before_an_invalidation_does_not_cache_what_it_read() {
        let cache: MeteredCache<u32, &'static str> =
            MeteredCache::new(CacheName::Sessions, settings());
        let (read, release) = tokio::sync::oneshot::channel::<()>();
        let (started_tx, started) = tokio::sync::oneshot::channel::<()>();
        let slow = {
            let cache = cache.clone();
            tokio::spawn(async move {
                cache
                    .get_or_load(1, || async move {
                        // Read "open" from the database, then stall before caching it.
                        let _ = started_tx.send(());
                        let _ = release.await;
                        Ok::<_, ()>(Some("open"))
                    })
                    .await
            })
        };
        let _ = started.await;
        // The sign-out commits and this instance records the revocation.
        cache.insert(1, "revoked").await;
        let _ = read.send(());
        assert_eq!(slow.await.ok(), Some(Ok(Some("open"))));
        assert_eq!(cache.peek(&1).await, Some("revoked"));

        // The same after an invalidation announced by another instance.
        cache.invalidate(&1).await;
        let (read, release) = tokio::sync::oneshot::channel::<()>();
        let (started_tx, started) = tokio::sync::oneshot::channel::<()>();
        let slow = {
            let cache = cache.clone();
            tokio::spawn(async move {
                cache
                    .get_or_load(1, || async move {
                        let _ = started_tx.send(());
                        let _ = release.await;
                        Ok::<_, ()>(Some("open"))
                    })
                    .await
            })
        };
        let _ = started.await;
        cache.invalidate(&1).await;
        let _ = read.send(());
        let _ = slow.await;
        assert_eq!(cache.peek(&1).await, None);
    }

    #[tokio::test]
    async fn an_absent_value_is_not_cached() {
        let cache: MeteredCache<u32, u32> = MeteredCache::new(CacheName::Users, settings());
        assert_eq!(
            cache.get_or_load(1, || async { Ok::<_, ()>(None) }).await,
            Ok(None)
        );
        assert_eq!(
            cache
                .get_or_load(1, || async { Ok::<_, ()>(Some(5)) })
                .await,
            Ok(Some(5))
        );
    }
}
