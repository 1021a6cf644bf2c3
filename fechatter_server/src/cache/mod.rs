//! In-process caches for hot reads: sessions (every authenticated request), chat membership (every
//! chat route) and users. Each is a moka cache with a TTL. A change that makes an entry stale
//! invalidates it here at once and announces it to the other instances (NOTIFY, see
//! [`invalidation`]); the TTL bounds staleness should an announcement be lost. Absent values are
//! not cached, so a new row is visible immediately.

pub mod invalidation;

use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fechatter_events::{ChatId, UserId};
use moka::future::Cache;
use uuid::Uuid;

use crate::config::CacheSettings;
use crate::models::{ChatAccess, User};
use crate::observability::metrics::{BusinessMetrics, CacheMetrics, CacheName, CacheOperation};
use crate::repo::invalidations::Stale;
use crate::repo::sessions::SessionState;

/// A moka cache that reports its hits, misses, timings and size.
#[derive(Clone)]
pub struct MeteredCache<K, V> {
    name: CacheName,
    inner: Cache<K, V>,
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
        let loaded = load().await?;
        if let Some(value) = &loaded {
            self.inner.insert(key, value.clone()).await;
        }
        CacheMetrics::operation(self.name, CacheOperation::Load, started.elapsed());
        Ok(loaded)
    }

    pub async fn insert(&self, key: K, value: V) {
        self.inner.insert(key, value).await;
    }

    pub async fn invalidate(&self, key: &K) {
        let started = Instant::now();
        self.inner.invalidate(key).await;
        CacheMetrics::operation(self.name, CacheOperation::Invalidate, started.elapsed());
    }

    pub fn invalidate_all(&self) {
        self.inner.invalidate_all();
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
}

impl Caches {
    pub fn new(settings: CacheSettings) -> Self {
        Self {
            sessions: MeteredCache::new(CacheName::Sessions, settings),
            chats: MeteredCache::new(CacheName::Chats, settings),
            users: MeteredCache::new(CacheName::Users, settings),
            active_users: ActiveUsers::new(),
        }
    }

    /// Drops whatever `stale` names.
    pub async fn forget(&self, stale: Stale) {
        match stale {
            Stale::Chat(chat) => self.chats.invalidate(&chat).await,
            Stale::Session(session) => self.sessions.invalidate(&session).await,
        }
    }

    /// Drops everything shared with other instances, for when announcements may have been missed.
    pub fn clear(&self) {
        self.sessions.invalidate_all();
        self.chats.invalidate_all();
        self.users.invalidate_all();
    }

    /// Updates the size gauges (`fechatter_cache_entries`, `fechatter_users_active`).
    pub async fn sample(&self) {
        self.sessions.sample().await;
        self.chats.sample().await;
        self.users.sample().await;
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
