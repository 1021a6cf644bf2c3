//! The closed sets of event kinds and chat types. Metric labels use `as_str`, so their values stay
//! bounded by these enums.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$variant_doc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "sqlx", derive(sqlx::Type))]
        #[cfg_attr(feature = "sqlx", sqlx(type_name = "text"))]
        pub enum $name {
            $(
                $(#[$variant_doc])*
                #[serde(rename = $text)]
                #[cfg_attr(feature = "sqlx", sqlx(rename = $text))]
                $variant
            ),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        // By hand: the derive does not see the renames through the macro.
        #[cfg(feature = "utoipa")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        #[cfg(feature = "utoipa")]
        impl utoipa::ToSchema for $name {}

        impl FromStr for $name {
            type Err = UnknownVariant;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(UnknownVariant(other.to_owned())),
                }
            }
        }
    };
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown value {0:?}")]
pub struct UnknownVariant(pub String);

string_enum!(
    /// Every kind of durable domain event. The subject is `<prefix>.events.<kind>`.
    EventKind {
        UserSignedUp => "user.signed_up",
        UserStatusChanged => "user.status_changed",
        ChatCreated => "chat.created",
        ChatUpdated => "chat.updated",
        ChatDeleted => "chat.deleted",
        ChatMemberAdded => "chat.member_added",
        ChatMemberRemoved => "chat.member_removed",
        MessageCreated => "message.created",
        MessageUpdated => "message.updated",
        MessageDeleted => "message.deleted",
        MessageReactionAdded => "message.reaction_added",
        MessageReactionRemoved => "message.reaction_removed",
        MessagePinned => "message.pinned",
        MessageUnpinned => "message.unpinned",
        ChatRead => "chat.read",
        /// A reply was added to or removed from a thread: to the thread's followers.
        ThreadUpdated => "thread.updated",
        /// A follower read a thread up to a reply: to that user only.
        ThreadRead => "thread.read",
        FileUploaded => "file.uploaded",
        /// A sign-in session ended (sign-out, refresh-token reuse, account removal): live push
        /// connections of that session close, and the session's access tokens are refused.
        SessionRevoked => "session.revoked",
    }
);

string_enum!(
    /// Signals over core NATS (`<prefix>.ephemeral.<kind>`): never stored, lost if nobody listens.
    EphemeralKind {
        Typing => "typing",
    }
);

string_enum!(
    /// Whether a user wants to be reached: `dnd` (do not disturb) silences mention alerts.
    Availability {
        Active => "active",
        Away => "away",
        Dnd => "dnd",
    }
);

string_enum!(
    /// Why a sign-in session ended (`session.revoked`).
    RevocationReason {
        SignedOut => "signed_out",
        RefreshTokenReused => "refresh_token_reused",
        AccountRemoved => "account_removed",
    }
);

string_enum!(
    /// The four kinds of chat.
    ChatType {
        Direct => "direct",
        Group => "group",
        PrivateChannel => "private_channel",
        PublicChannel => "public_channel",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_text() {
        for kind in EventKind::ALL {
            assert_eq!(kind.as_str().parse::<EventKind>(), Ok(*kind));
            let json = serde_json::to_string(kind).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
    }

    #[test]
    fn an_unknown_kind_is_an_error() {
        assert!("message.exploded".parse::<EventKind>().is_err());
    }
}
