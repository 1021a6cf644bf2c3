//! Id newtypes, so a chat id can never be passed where a user id is expected.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! integer_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "sqlx", derive(sqlx::Type))]
        #[cfg_attr(feature = "sqlx", sqlx(transparent))]
        #[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<i64> for $name {
            fn from(value: i64) -> Self {
                Self(value)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }
    };
}

integer_id!(
    /// A user, including the assistant bot users.
    UserId
);
integer_id!(
    /// A workspace: the tenant boundary of Fechatter.
    WorkspaceId
);
integer_id!(
    /// A chat of any type (direct, group, channel).
    ChatId
);
integer_id!(
    /// A message; ids grow with time, so they are also the keyset pagination cursor.
    MessageId
);
integer_id!(
    /// An uploaded file.
    FileId
);

/// A domain event's id: a UUID v7, so ids sort by creation time. Also the JetStream `Nats-Msg-Id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type))]
#[cfg_attr(feature = "sqlx", sqlx(transparent))]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct EventId(pub Uuid);

impl EventId {
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_serialize_as_bare_numbers() {
        assert_eq!(
            serde_json::to_string(&ChatId(42)).ok().as_deref(),
            Some("42")
        );
    }

    #[test]
    fn event_ids_generated_later_sort_later() {
        let first = EventId::generate();
        let second = EventId::generate();
        assert!(first < second);
    }
}
