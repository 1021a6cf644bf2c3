//! What every Fechatter service agrees on about domain events (see `docs/design/events.md`):
//! the id newtypes, the [`EventKind`] enum, the JSON [`Envelope`], the typed payloads, and the JetStream
//! stream and subject layout.

pub mod consume;
pub mod dead_letters;
pub mod delivery;
pub mod envelope;
pub mod ids;
pub mod kind;
pub mod nats;
pub mod payload;
pub mod stream;

pub use envelope::{Envelope, EnvelopeError};
pub use ids::{ChatId, EventId, FileId, MessageId, UserId, WorkspaceId};
pub use kind::{Availability, ChatType, EphemeralKind, EventKind};
pub use stream::EventBus;
