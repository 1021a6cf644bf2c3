//! What every Fechatter service agrees on about domain events (see `docs/design/events.md`):
//! the id newtypes, the [`EventKind`] enum, the typed [`Event`] (kind and payload together), the JSON
//! [`Envelope`], and the JetStream
//! stream and subject layout.

pub mod consume;
pub mod dead_letters;
pub mod delivery;
pub mod envelope;
pub mod event;
pub mod ids;
pub mod kind;
pub mod metrics;
pub mod nats;
pub mod payload;
pub mod stream;

pub use envelope::{Decoded, Envelope, EnvelopeError};
pub use event::Event;
pub use ids::{ChatId, EventId, FileId, MessageId, UserId, WorkspaceId};
pub use kind::{Availability, ChatType, EphemeralKind, EventKind};
pub use stream::EventBus;

/// What each variable read here means, for the generated environment table of
/// `docs/development.md` (by name without the prefix).
pub const ENV_NOTES: &[(&str, &str)] = &[
    ("NATS_URL", "NATS with JetStream"),
    ("NATS_STREAM", "the event stream"),
    (
        "NATS_SUBJECT_PREFIX",
        "events are published on `<prefix>.events.<kind>`, dead letters on `<prefix>.dlq.<consumer>`",
    ),
    (
        "NATS_STREAM_REPLICAS",
        "3 on a 3-node NATS cluster: the streams and the presence bucket keep that many copies",
    ),
    (
        "NATS_USER",
        "the service's NATS user in `nats/nats-server.conf`; read only with a password",
    ),
    (
        "NATS_PASSWORD",
        "its user's password in `nats/nats-server.conf`; unset = connect without credentials, as to a NATS without users",
    ),
];
