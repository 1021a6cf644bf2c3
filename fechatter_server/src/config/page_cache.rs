//! The cache of message-list pages (`crate::cache::pages`).

use std::time::Duration;

use env_config::{ConfigError, Env};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageCacheSettings {
    /// Bytes of serialised pages held (their reactor lists included); 0 turns the cache off.
    pub max_bytes: u64,
    /// A page is dropped this long after it was read from Postgres even if no event said it
    /// changed: the bound on staleness should an event never reach this instance.
    pub ttl: Duration,
    /// Pages of one chat held at once (newest page, and the next ones as readers scroll); a
    /// further page replaces the one cached first.
    pub pages_per_chat: usize,
}

impl PageCacheSettings {
    pub fn from(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            max_bytes: env.bounded(
                "PAGE_CACHE_MAX_BYTES",
                64 * 1024 * 1024,
                0,
                64 * 1024 * 1024 * 1024,
            )?,
            ttl: env.bounded_seconds("PAGE_CACHE_TTL_SECONDS", 30, 1, 3600)?,
            pages_per_chat: env.bounded("PAGE_CACHE_PAGES_PER_CHAT", 4, 1, 64)?,
        })
    }

    pub fn enabled(&self) -> bool {
        self.max_bytes > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_cache_holds_64_mib_by_default_and_zero_turns_it_off() {
        let defaults =
            PageCacheSettings::from(&Env::from_map("FECHATTER", Vec::<(String, String)>::new()))
                .unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(defaults.max_bytes, 64 * 1024 * 1024);
        assert!(defaults.enabled());
        let off = PageCacheSettings::from(&Env::from_map(
            "FECHATTER",
            [("FECHATTER_PAGE_CACHE_MAX_BYTES", "0")],
        ))
        .unwrap_or_else(|err| panic!("{err}"));
        assert!(!off.enabled());
        let err = PageCacheSettings::from(&Env::from_map(
            "FECHATTER",
            [("FECHATTER_PAGE_CACHE_PAGES_PER_CHAT", "0")],
        ))
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("FECHATTER_PAGE_CACHE_PAGES_PER_CHAT"),
            "{err}"
        );
    }
}
