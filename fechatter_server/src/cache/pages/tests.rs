use std::time::Duration;

use super::*;
use crate::models::{Message, Page};

fn cache() -> PageCache {
    let cache = PageCache::new(PageCacheSettings {
        max_bytes: 1024 * 1024,
        ttl: Duration::from_secs(60),
        pages_per_chat: 2,
    });
    cache.feed(true);
    cache
}

fn body(next_before: i64) -> Arc<PageBody> {
    let page: Page<Message> = Page {
        items: Vec::new(),
        next_before: Some(next_before),
        has_more: true,
    };
    Arc::new(PageBody::new(page, Vec::new()).unwrap_or_else(|err| panic!("{err}")))
}

fn first(limit: i64) -> PageRequest {
    PageRequest {
        before: None,
        limit,
    }
}

const CHAT: ChatId = ChatId(7);

#[test]
fn a_page_read_before_a_change_is_not_kept_and_a_change_drops_what_was() {
    let cache = cache();
    let ticket = cache.ticket(CHAT).unwrap_or_else(|| panic!("no ticket"));
    cache.insert(ticket, first(50), body(1));
    assert!(cache.get(CHAT, first(50)).is_some());
    assert!(cache.get(CHAT, first(20)).is_none());
    assert!(cache.get(ChatId(8), first(50)).is_none());

    // A load reads Postgres, then the change's event arrives before it caches what it read.
    let ticket = cache.ticket(CHAT).unwrap_or_else(|| panic!("no ticket"));
    cache.changed(CHAT);
    assert!(cache.get(CHAT, first(50)).is_none());
    cache.insert(ticket, first(50), body(2));
    assert!(cache.get(CHAT, first(50)).is_none());
}

#[test]
fn an_event_of_the_chat_drops_its_pages_and_other_events_do_not() {
    let cache = cache();
    let envelope = |kind, chat| {
        Envelope::unchecked(
            kind,
            fechatter_events::WorkspaceId(1),
            chat,
            None,
            Vec::new(),
            &serde_json::json!({}),
        )
        .unwrap_or_else(|err| panic!("{err}"))
    };
    let fill = |cache: &PageCache| {
        let ticket = cache.ticket(CHAT).unwrap_or_else(|| panic!("no ticket"));
        cache.insert(ticket, first(50), body(1));
        assert!(cache.get(CHAT, first(50)).is_some());
    };
    fill(&cache);
    cache.event(&envelope(EventKind::ChatRead, Some(CHAT)));
    cache.event(&envelope(EventKind::MessageCreated, Some(ChatId(8))));
    assert!(cache.get(CHAT, first(50)).is_some());
    for kind in [
        EventKind::MessageCreated,
        EventKind::MessageUpdated,
        EventKind::MessageDeleted,
        EventKind::MessageReactionAdded,
        EventKind::MessageReactionRemoved,
        EventKind::MessagePinned,
        EventKind::ChatDeleted,
    ] {
        fill(&cache);
        cache.event(&envelope(kind, Some(CHAT)));
        assert!(cache.get(CHAT, first(50)).is_none(), "{kind}");
    }
}

#[test]
fn while_the_feed_is_down_nothing_is_served_or_kept_and_its_return_starts_empty() {
    let cache = cache();
    let ticket = cache.ticket(CHAT).unwrap_or_else(|| panic!("no ticket"));
    cache.insert(ticket, first(50), body(1));
    let during = cache.ticket(CHAT).unwrap_or_else(|| panic!("no ticket"));
    cache.feed(false);
    assert!(cache.get(CHAT, first(50)).is_none());
    assert!(cache.ticket(CHAT).is_none());
    cache.insert(during, first(50), body(2));
    cache.feed(true);
    assert!(cache.get(CHAT, first(50)).is_none());
}

#[test]
fn a_chat_keeps_its_latest_pages_up_to_the_limit() {
    let cache = cache();
    for limit in [10, 20, 30] {
        let ticket = cache.ticket(CHAT).unwrap_or_else(|| panic!("no ticket"));
        cache.insert(ticket, first(limit), body(limit));
    }
    assert!(cache.get(CHAT, first(10)).is_none());
    assert!(cache.get(CHAT, first(20)).is_some());
    assert!(cache.get(CHAT, first(30)).is_some());
}

#[test]
fn a_cache_of_zero_bytes_holds_nothing() {
    let cache = PageCache::new(PageCacheSettings {
        max_bytes: 0,
        ttl: Duration::from_secs(60),
        pages_per_chat: 2,
    });
    cache.feed(true);
    assert!(cache.ticket(CHAT).is_none());
    assert!(cache.get(CHAT, first(50)).is_none());
}
