//! What an analytics event is: its type (a client event or a domain event), where it came from,
//! and the ClickHouse row it becomes.

pub mod client;
pub mod domain;
pub mod rejection;
pub mod row;

use std::fmt;
use std::str::FromStr;

use fechatter_events::EventKind;
use serde::{Deserialize, Serialize};

pub use row::EventRow;

macro_rules! client_event_types {
    ($($variant:ident => $text:literal),+ $(,)?) => {
        /// The events clients may report. The set is closed so the `event_type` metric label stays
        /// bounded; an unknown type is rejected at ingestion.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum ClientEventType {
            $(#[serde(rename = $text)] $variant),+
        }

        impl ClientEventType {
            pub const ALL: &'static [ClientEventType] = &[$(ClientEventType::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self { $(ClientEventType::$variant => $text),+ }
            }
        }

        impl FromStr for ClientEventType {
            type Err = ();
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok(ClientEventType::$variant),)+
                    _ => Err(()),
                }
            }
        }
    };
}

client_event_types! {
    AppStart => "app_start",
    AppExit => "app_exit",
    AppForeground => "app_foreground",
    AppBackground => "app_background",
    UserLogin => "user_login",
    UserLogout => "user_logout",
    ChatOpened => "chat_opened",
    MessageSent => "message_sent",
    MessageRead => "message_read",
    ReactionAdded => "reaction_added",
    FileUploaded => "file_uploaded",
    FileDownloaded => "file_downloaded",
    SearchPerformed => "search_performed",
    Navigation => "navigation",
    NotificationClicked => "notification_clicked",
    ErrorReported => "error_reported",
}

impl ClientEventType {
    /// Events after which the client's session is over.
    pub fn ends_session(self) -> bool {
        matches!(self, ClientEventType::AppExit | ClientEventType::UserLogout)
    }
}

/// Any event type stored in ClickHouse. Client types are snake_case (`message_sent`), domain
/// kinds keep their dotted names (`message.created`), so the two never collide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    Client(ClientEventType),
    Domain(EventKind),
}

impl EventType {
    pub const fn as_str(self) -> &'static str {
        match self {
            EventType::Client(client) => client.as_str(),
            EventType::Domain(kind) => kind.as_str(),
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an event reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// A client posted it to `/api/event(s)`.
    Http,
    /// A domain event from the JetStream stream.
    Nats,
}

impl Source {
    pub const fn as_str(self) -> &'static str {
        match self {
            Source::Http => "http",
            Source::Nats => "nats",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_client_type_round_trips_through_its_text() {
        for kind in ClientEventType::ALL {
            assert_eq!(kind.as_str().parse::<ClientEventType>(), Ok(*kind));
        }
    }

    #[test]
    fn client_and_domain_type_names_never_collide() {
        for client in ClientEventType::ALL {
            assert!(
                EventKind::ALL
                    .iter()
                    .all(|kind| kind.as_str() != client.as_str())
            );
        }
    }
}
