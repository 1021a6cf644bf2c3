//! Every durable event kind with its typed payload, as one enum: a producer builds an [`Event`]
//! (so it cannot pair a kind with the wrong payload) and a consumer matches on one (so the
//! compiler lists the kinds it does not handle). On the wire the pair is still the envelope's
//! `kind` and `data` (`docs/design/events.md`), unchanged.

use serde::de::DeserializeOwned;

use crate::EventKind;
use crate::payload::{
    ChatDeleted, ChatPayload, ChatRead, FileUploaded, MemberChanged, MessageDeleted,
    MessagePayload, PinChanged, ReactionChanged, SessionRevoked, ThreadRead, ThreadUpdated,
    UserSignedUp, UserStatusChanged,
};

macro_rules! events {
    ($($(#[$doc:meta])* $variant:ident($payload:ty)),+ $(,)?) => {
        /// A domain event: its kind and its payload together.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Event {
            $($(#[$doc])* $variant($payload)),+
        }

        impl Event {
            /// The kind the envelope and the subject carry.
            pub const fn kind(&self) -> EventKind {
                match self {
                    $(Event::$variant(_) => EventKind::$variant),+
                }
            }

            /// The envelope's `data`.
            pub fn data(&self) -> Result<serde_json::Value, serde_json::Error> {
                match self {
                    $(Event::$variant(payload) => serde_json::to_value(payload)),+
                }
            }

            /// Decodes an envelope's `data` as the payload of `kind`. Every [`EventKind`] has its
            /// arm: a kind added without a payload here does not compile.
            pub fn from_parts(
                kind: EventKind,
                data: &serde_json::Value,
            ) -> Result<Self, serde_json::Error> {
                Ok(match kind {
                    $(EventKind::$variant => Event::$variant(decode(data)?)),+
                })
            }
        }
    };
}

fn decode<T: DeserializeOwned>(data: &serde_json::Value) -> Result<T, serde_json::Error> {
    T::deserialize(data)
}

events! {
    UserSignedUp(UserSignedUp),
    UserStatusChanged(UserStatusChanged),
    ChatCreated(ChatPayload),
    ChatUpdated(ChatPayload),
    ChatDeleted(ChatDeleted),
    ChatMemberAdded(MemberChanged),
    ChatMemberRemoved(MemberChanged),
    MessageCreated(MessagePayload),
    MessageUpdated(MessagePayload),
    MessageDeleted(MessageDeleted),
    MessageReactionAdded(ReactionChanged),
    MessageReactionRemoved(ReactionChanged),
    MessagePinned(PinChanged),
    MessageUnpinned(PinChanged),
    /// Delivered only to the reader's own sessions.
    ChatRead(ChatRead),
    /// A reply was added to or removed from a thread: to the thread's followers.
    ThreadUpdated(ThreadUpdated),
    /// A follower read a thread up to a reply: to that user only.
    ThreadRead(ThreadRead),
    FileUploaded(FileUploaded),
    /// To the user only: every service closes the session's live connections and refuses its
    /// tokens.
    SessionRevoked(SessionRevoked),
}
