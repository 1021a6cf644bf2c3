//! Message-list pages held in memory, kept exact by the events this instance's log reader sees.
//!
//! A page is cached per chat, request (`before`, `limit`) and nothing else: who may read it is
//! checked on every request before the cache is asked, and the one per-viewer part (each reaction
//! count's `me`) is written in per viewer ([`body`]).
//!
//! **Exactness.** Every change to what a page shows commits with a domain event of its chat
//! (`message.*`), which every instance's log reader sees in stream order; that event drops the
//! chat's pages here before it is pushed to this instance's sockets. The instance that committed the
//! change drops them at once too, so its own client reads its write. A load races with changes: it
//! takes a [`Ticket`] (the chat's generation) before it reads Postgres, and its page is kept only
//! under that generation; every drop bumps the generation first. So a page read before a change
//! committed is never served after that change's event arrived, whatever the interleaving.
//!
//! **Gaps.** While the log reader is not subscribed, events are not seen (they arrive late, or
//! not at all if the stream was created anew or trimmed meanwhile): every change of the
//! subscription drops every page, and nothing is cached or served from here until it is
//! subscribed again. A page is also dropped `FECHATTER_PAGE_CACHE_TTL_SECONDS` after it was read,
//! whatever happened, which bounds staleness should an event never arrive by any path.
//!
//! Generations live in a fixed array of counters indexed by a hash of the chat: two chats on one
//! counter only drop each other's pages now and then, and memory does not grow with chats.

mod body;

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use fechatter_events::{ChatId, Envelope, EventKind};
use fechatter_push::EventObserver;
use moka::sync::Cache;

pub use body::{PageBody, PageError, Unshareable, personal};

use crate::config::PageCacheSettings;
use crate::models::PageRequest;
use crate::observability::metrics::{CacheMetrics, CacheName, CacheOperation};

const STRIPES: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Generation {
    /// Bumped by every gap (everything dropped).
    epoch: u64,
    /// Bumped by every change of a chat on this counter.
    chat: u64,
}

/// The generation a load started under; its page is cached only if nothing changed since.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    chat: ChatId,
    generation: Generation,
    started: Instant,
}

struct CachedPage {
    request: PageRequest,
    body: Arc<PageBody>,
    loaded: Instant,
}

/// The pages of one chat, all read under one generation.
struct ChatPages {
    generation: Generation,
    pages: Vec<CachedPage>,
}

impl ChatPages {
    fn weight(&self) -> u32 {
        let bytes: usize = self.pages.iter().map(|page| page.body.weight()).sum();
        u32::try_from(bytes + size_of::<Self>()).unwrap_or(u32::MAX)
    }
}

struct Store {
    chats: Cache<ChatId, Arc<ChatPages>>,
    stripes: Box<[AtomicU64]>,
    hasher: RandomState,
    epoch: AtomicU64,
    /// Whether the log reader is subscribed: only then are pages cached or served.
    live: AtomicBool,
    settings: PageCacheSettings,
}

/// The page cache of this instance; a no-op when `FECHATTER_PAGE_CACHE_MAX_BYTES` is 0.
#[derive(Clone)]
pub struct PageCache {
    store: Option<Arc<Store>>,
}

impl PageCache {
    pub fn new(settings: PageCacheSettings) -> Self {
        let store = settings.enabled().then(|| {
            Arc::new(Store {
                chats: Cache::builder()
                    .max_capacity(settings.max_bytes)
                    .weigher(|_, pages: &Arc<ChatPages>| pages.weight())
                    .time_to_live(settings.ttl)
                    .build(),
                stripes: (0..STRIPES).map(|_| AtomicU64::new(0)).collect(),
                hasher: RandomState::new(),
                epoch: AtomicU64::new(0),
                live: AtomicBool::new(false),
                settings,
            })
        });
        Self { store }
    }

    /// The cached page, if it is current; counts a hit or a miss.
    pub fn get(&self, chat: ChatId, request: PageRequest) -> Option<Arc<PageBody>> {
        let store = self.store.as_ref()?;
        let started = Instant::now();
        let found = store.find(chat, request);
        CacheMetrics::lookup(CacheName::Pages, found.is_some());
        if found.is_some() {
            CacheMetrics::operation(CacheName::Pages, CacheOperation::Hit, started.elapsed());
        }
        found
    }

    /// Taken before a page is read from Postgres; `None` when the page must not be cached.
    pub fn ticket(&self, chat: ChatId) -> Option<Ticket> {
        let store = self.store.as_ref()?;
        if !store.live.load(Ordering::SeqCst) {
            return None;
        }
        Some(Ticket {
            chat,
            generation: store.generation(chat),
            started: Instant::now(),
        })
    }

    /// Caches a page read under `ticket`, unless the chat changed (or a gap happened) since.
    pub fn insert(&self, ticket: Ticket, request: PageRequest, body: Arc<PageBody>) {
        let Some(store) = &self.store else {
            return;
        };
        store.insert(ticket, request, body);
        CacheMetrics::operation(
            CacheName::Pages,
            CacheOperation::Load,
            ticket.started.elapsed(),
        );
    }

    /// Drops the chat's pages: this instance committed a change of it, or its event arrived.
    pub fn changed(&self, chat: ChatId) {
        let Some(store) = &self.store else {
            return;
        };
        let started = Instant::now();
        store.stripe(chat).fetch_add(1, Ordering::SeqCst);
        store.chats.invalidate(&chat);
        CacheMetrics::operation(
            CacheName::Pages,
            CacheOperation::Invalidate,
            started.elapsed(),
        );
    }

    /// Drops every page.
    pub fn clear(&self) {
        if let Some(store) = &self.store {
            store.epoch.fetch_add(1, Ordering::SeqCst);
            store.chats.invalidate_all();
        }
    }

    /// Updates `fechatter_cache_entries{cache="pages"}` (chats) and `fechatter_cache_size_bytes`.
    pub fn sample(&self) {
        if let Some(store) = &self.store {
            store.chats.run_pending_tasks();
            CacheMetrics::entries(CacheName::Pages, store.chats.entry_count());
            CacheMetrics::size(CacheName::Pages, store.chats.weighted_size());
        }
    }
}

impl Store {
    fn stripe(&self, chat: ChatId) -> &AtomicU64 {
        let index = (self.hasher.hash_one(chat) as usize) % self.stripes.len();
        &self.stripes[index]
    }

    fn generation(&self, chat: ChatId) -> Generation {
        Generation {
            epoch: self.epoch.load(Ordering::SeqCst),
            chat: self.stripe(chat).load(Ordering::SeqCst),
        }
    }

    fn find(&self, chat: ChatId, request: PageRequest) -> Option<Arc<PageBody>> {
        if !self.live.load(Ordering::SeqCst) {
            return None;
        }
        let pages = self.chats.get(&chat)?;
        if pages.generation != self.generation(chat) {
            return None;
        }
        pages
            .pages
            .iter()
            .find(|page| page.request == request && page.loaded.elapsed() < self.settings.ttl)
            .map(|page| page.body.clone())
    }

    fn insert(&self, ticket: Ticket, request: PageRequest, body: Arc<PageBody>) {
        let current = || {
            self.live.load(Ordering::SeqCst) && self.generation(ticket.chat) == ticket.generation
        };
        if !current() {
            return;
        }
        let mut pages: Vec<CachedPage> = Vec::new();
        if let Some(held) = self.chats.get(&ticket.chat)
            && held.generation == ticket.generation
        {
            pages.extend(
                held.pages
                    .iter()
                    .filter(|page| page.request != request)
                    .map(|page| CachedPage {
                        request: page.request,
                        body: page.body.clone(),
                        loaded: page.loaded,
                    }),
            );
        }
        let overflow = (pages.len() + 1).saturating_sub(self.settings.pages_per_chat);
        pages.drain(..overflow.min(pages.len()));
        pages.push(CachedPage {
            request,
            body,
            loaded: ticket.started,
        });
        self.chats.insert(
            ticket.chat,
            Arc::new(ChatPages {
                generation: ticket.generation,
                pages,
            }),
        );
        // A change or gap between the check and the insert: what was inserted is stale (it would
        // never be served, but it would hold memory until evicted).
        if !current() {
            self.chats.invalidate(&ticket.chat);
        }
    }
}

/// The chats whose pages an event changes: every `message.*` event (created, updated, deleted,
/// reactions, pins; a reply changes its thread root's page too, which is in the same chat) and a
/// deleted chat.
fn changes_pages(kind: EventKind) -> bool {
    // A thread's reply count and last reply are part of its root's page.
    kind.as_str().starts_with("message.")
        || kind == EventKind::ThreadUpdated
        || kind == EventKind::ChatDeleted
}

impl EventObserver for PageCache {
    fn event(&self, envelope: &Envelope) {
        if !changes_pages(envelope.kind) {
            return;
        }
        match envelope.chat_id {
            Some(chat) => self.changed(chat),
            None => self.clear(),
        }
    }

    fn feed(&self, subscribed: bool) {
        if let Some(store) = &self.store {
            store.live.store(subscribed, Ordering::SeqCst);
        }
        self.clear();
    }
}

#[cfg(test)]
mod tests;
