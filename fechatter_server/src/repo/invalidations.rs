//! Cross-instance cache invalidation: a change that makes cached data stale announces it on a
//! NOTIFY channel inside its transaction (delivered on commit); every instance listens and drops
//! the entry (see `crate::cache::invalidation`).

use fechatter_events::ChatId;
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::db::timed;

pub const CHANNEL: &str = "fechatter_cache";

/// What went stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stale {
    Chat(ChatId),
    Session(Uuid),
}

impl Stale {
    pub fn to_payload(self) -> String {
        match self {
            Stale::Chat(id) => format!("chat:{id}"),
            Stale::Session(id) => format!("session:{id}"),
        }
    }

    pub fn from_payload(payload: &str) -> Option<Self> {
        let (kind, id) = payload.split_once(':')?;
        match kind {
            "chat" => id.parse().ok().map(Stale::Chat),
            "session" => id.parse().ok().map(Stale::Session),
            _ => None,
        }
    }
}

pub async fn announce(db: impl PgExecutor<'_>, stale: Stale) -> Result<(), sqlx::Error> {
    timed(
        "cache.notify",
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(stale.to_payload())
            .execute(db),
    )
    .await
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip() {
        for stale in [Stale::Chat(ChatId(42)), Stale::Session(Uuid::now_v7())] {
            assert_eq!(Stale::from_payload(&stale.to_payload()), Some(stale));
        }
        assert_eq!(Stale::from_payload("chat:x"), None);
        assert_eq!(Stale::from_payload("file:1"), None);
    }
}
