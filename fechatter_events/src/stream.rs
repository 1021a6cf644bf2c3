//! The JetStream layout: the events stream (one subject per kind), the stored dead letters (a
//! subject per consumer) and analytics' client events.
//!
//! The stream name and subject prefix are configurable so tests can isolate themselves on a shared
//! NATS server; production uses the defaults from `docs/design/events.md`. The other two streams are named
//! after the events stream, so an isolated bus has isolated dead letters and client events too.

use std::time::Duration;

use async_nats::jetstream::{self, stream};
use env_config::{ConfigError, Env};

use crate::{EphemeralKind, EventKind};

pub const DEFAULT_STREAM: &str = "FECHATTER_EVENTS";
pub const DEFAULT_SUBJECT_PREFIX: &str = "fechatter";
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);
pub const DEFAULT_MAX_BYTES: i64 = 1024 * 1024 * 1024;
/// The dead letters of the default bus; an isolated bus gets `FECHATTER_DEAD_LETTERS_<NAME>`.
pub const DEFAULT_DEAD_LETTER_STREAM: &str = "FECHATTER_DEAD_LETTERS";
/// Dead letters wait this long for someone to look at them (configurable per service).
pub const DEFAULT_DEAD_LETTER_MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);
/// Client events accepted by analytics, stored before its `202`.
pub const DEFAULT_CLIENT_EVENT_STREAM: &str = "FECHATTER_CLIENT_EVENTS";
/// Publishers set `Nats-Msg-Id`; a re-publish within this window is dropped.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventBus {
    pub stream: String,
    pub subject_prefix: String,
    pub max_age: Duration,
    pub max_bytes: i64,
    /// How long the dead-letter stream keeps what it holds.
    pub dead_letter_max_age: Duration,
    /// Copies of the stream a NATS cluster keeps (1 on a single server; 3 on a 3-node cluster, so
    /// losing one node loses nothing).
    pub replicas: usize,
}

impl Default for EventBus {
    fn default() -> Self {
        Self {
            stream: DEFAULT_STREAM.to_owned(),
            subject_prefix: DEFAULT_SUBJECT_PREFIX.to_owned(),
            max_age: DEFAULT_MAX_AGE,
            max_bytes: DEFAULT_MAX_BYTES,
            dead_letter_max_age: DEFAULT_DEAD_LETTER_MAX_AGE,
            replicas: 1,
        }
    }
}

impl EventBus {
    /// The bus named by `{PREFIX}_NATS_STREAM`, `{PREFIX}_NATS_SUBJECT_PREFIX` and
    /// `{PREFIX}_NATS_STREAM_REPLICAS` (1; at most 5, JetStream's limit).
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            stream: env.string("NATS_STREAM", DEFAULT_STREAM),
            subject_prefix: env.string("NATS_SUBJECT_PREFIX", DEFAULT_SUBJECT_PREFIX),
            replicas: env.bounded("NATS_STREAM_REPLICAS", 1, 1, 5)?,
            ..Self::default()
        })
    }

    /// The bus as a service with durable consumers reads it: [`EventBus::from_env`] and the
    /// dead-letter stream's retention, `{PREFIX}_DEAD_LETTER_RETENTION_DAYS` (30; 1–3650).
    pub fn from_env_with_dead_letters(env: &Env) -> Result<Self, ConfigError> {
        const DAY: u64 = 24 * 3600;
        let days = env.bounded(
            "DEAD_LETTER_RETENTION_DAYS",
            DEFAULT_DEAD_LETTER_MAX_AGE.as_secs() / DAY,
            1,
            3650,
        )?;
        Ok(Self {
            dead_letter_max_age: Duration::from_secs(days * DAY),
            ..Self::from_env(env)?
        })
    }

    /// The same bus with its stream (and presence bucket) kept on `replicas` cluster nodes.
    pub fn with_replicas(mut self, replicas: usize) -> Self {
        self.replicas = replicas;
        self
    }

    /// A bus with its own stream and subjects, e.g. one per test.
    pub fn isolated(name: &str) -> Self {
        let name = name.replace(['.', '-', ' ', '*', '>'], "_");
        Self {
            stream: format!("{}_{}", DEFAULT_STREAM, name.to_ascii_uppercase()),
            subject_prefix: format!("{DEFAULT_SUBJECT_PREFIX}_{}", name.to_ascii_lowercase()),
            ..Self::default()
        }
    }

    /// `fechatter.events.message.created`
    pub fn subject(&self, kind: EventKind) -> String {
        format!("{}.events.{}", self.subject_prefix, kind.as_str())
    }

    /// `fechatter.events.>`: everything the stream stores.
    pub fn all_events(&self) -> String {
        format!("{}.events.>", self.subject_prefix)
    }

    /// `fechatter.ephemeral.typing`
    pub fn ephemeral_subject(&self, kind: EphemeralKind) -> String {
        format!("{}.ephemeral.{}", self.subject_prefix, kind.as_str())
    }

    /// `fechatter.dlq.bot`: where a consumer parks events it gave up on.
    pub fn dead_letter_subject(&self, consumer: &str) -> String {
        format!("{}.dlq.{}", self.subject_prefix, consumer)
    }

    /// `fechatter.dlq.>`: everything the dead-letter stream stores.
    pub fn all_dead_letters(&self) -> String {
        format!("{}.dlq.>", self.subject_prefix)
    }

    /// `FECHATTER_DEAD_LETTERS` for the default bus.
    pub fn dead_letter_stream(&self) -> String {
        self.sibling_stream(DEFAULT_DEAD_LETTER_STREAM)
    }

    /// `fechatter.client_events.batch`: where analytics stores the client events it accepts.
    pub fn client_event_subject(&self) -> String {
        format!("{}.client_events.batch", self.subject_prefix)
    }

    /// `fechatter.client_events.>`: everything the client-event stream stores.
    pub fn all_client_events(&self) -> String {
        format!("{}.client_events.>", self.subject_prefix)
    }

    /// `FECHATTER_CLIENT_EVENTS` for the default bus.
    pub fn client_event_stream(&self) -> String {
        self.sibling_stream(DEFAULT_CLIENT_EVENT_STREAM)
    }

    /// `base` for the default stream, `base` plus the isolated suffix for an isolated one.
    fn sibling_stream(&self, base: &str) -> String {
        match self.stream.strip_prefix(DEFAULT_STREAM) {
            Some(suffix) => format!("{base}{suffix}"),
            None => format!("{}_{}", self.stream, &base["FECHATTER_".len()..]),
        }
    }

    /// The JetStream key-value bucket of who is connected where: `FECHATTER_PRESENCE` for the
    /// default bus, one per isolated bus.
    pub fn presence_bucket(&self) -> String {
        let base: String = self
            .subject_prefix
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect();
        format!("{base}_PRESENCE")
    }

    /// The kind named by a subject of this bus, if any.
    pub fn kind_of_subject(&self, subject: &str) -> Option<EventKind> {
        subject
            .strip_prefix(&self.subject_prefix)?
            .strip_prefix(".events.")?
            .parse()
            .ok()
    }

    fn stream_config(&self, name: String, subject: String, max_age: Duration) -> stream::Config {
        stream::Config {
            name,
            subjects: vec![subject],
            storage: stream::StorageType::File,
            retention: stream::RetentionPolicy::Limits,
            max_age,
            max_bytes: self.max_bytes,
            duplicate_window: DUPLICATE_WINDOW,
            num_replicas: self.replicas,
            ..Default::default()
        }
    }

    /// Creates the events stream, or updates it to this configuration; safe to call from every
    /// service.
    pub async fn ensure_stream(
        &self,
        jetstream: &jetstream::Context,
    ) -> Result<stream::Stream, async_nats::Error> {
        let config = self.stream_config(self.stream.clone(), self.all_events(), self.max_age);
        ensure(jetstream, config).await
    }

    /// Creates or updates the dead-letter stream: every consumer that parks events calls it before
    /// it subscribes, so a dead letter always has somewhere to be stored.
    pub async fn ensure_dead_letter_stream(
        &self,
        jetstream: &jetstream::Context,
    ) -> Result<stream::Stream, async_nats::Error> {
        let config = self.stream_config(
            self.dead_letter_stream(),
            self.all_dead_letters(),
            self.dead_letter_max_age,
        );
        ensure(jetstream, config).await
    }

    /// Creates or updates the stream of accepted client events (kept as long as domain events).
    pub async fn ensure_client_event_stream(
        &self,
        jetstream: &jetstream::Context,
    ) -> Result<stream::Stream, async_nats::Error> {
        let config = self.stream_config(
            self.client_event_stream(),
            self.all_client_events(),
            self.max_age,
        );
        ensure(jetstream, config).await
    }
}

/// Creates the stream, or updates it when its subjects or limits differ; safe to call from every
/// service at once.
async fn ensure(
    jetstream: &jetstream::Context,
    config: stream::Config,
) -> Result<stream::Stream, async_nats::Error> {
    match jetstream.get_stream(&config.name).await {
        Ok(mut existing) => {
            let current = existing.info().await?.config.clone();
            if current.subjects != config.subjects
                || current.max_age != config.max_age
                || current.max_bytes != config.max_bytes
            {
                jetstream.update_stream(config).await?;
            }
            Ok(existing)
        }
        Err(_) => match jetstream.create_stream(config.clone()).await {
            Ok(stream) => Ok(stream),
            // Another service created it between our get and create.
            Err(_) => Ok(jetstream.get_stream(&config.name).await?),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_follow_the_contract() {
        let bus = EventBus::default();
        assert_eq!(
            bus.subject(EventKind::MessageCreated),
            "fechatter.events.message.created"
        );
        assert_eq!(bus.all_events(), "fechatter.events.>");
        assert_eq!(
            bus.ephemeral_subject(EphemeralKind::Typing),
            "fechatter.ephemeral.typing"
        );
        assert_eq!(bus.dead_letter_subject("bot"), "fechatter.dlq.bot");
        assert_eq!(bus.dead_letter_stream(), "FECHATTER_DEAD_LETTERS");
        assert_eq!(bus.all_dead_letters(), "fechatter.dlq.>");
        assert_eq!(bus.client_event_stream(), "FECHATTER_CLIENT_EVENTS");
        assert_eq!(bus.client_event_subject(), "fechatter.client_events.batch");
        assert_eq!(bus.presence_bucket(), "FECHATTER_PRESENCE");
    }

    #[test]
    fn an_isolated_bus_has_its_own_dead_letters_and_client_events() {
        let bus = EventBus::isolated("t-1");
        assert_eq!(bus.dead_letter_stream(), "FECHATTER_DEAD_LETTERS_T_1");
        assert_eq!(bus.client_event_stream(), "FECHATTER_CLIENT_EVENTS_T_1");
        let bench = EventBus {
            stream: "BENCH_7".to_owned(),
            ..EventBus::default()
        };
        assert_eq!(bench.dead_letter_stream(), "BENCH_7_DEAD_LETTERS");
        assert_eq!(
            EventBus::isolated("t-1").presence_bucket(),
            "FECHATTER_T_1_PRESENCE"
        );
    }

    #[test]
    fn a_subject_maps_back_to_its_kind() {
        let bus = EventBus::isolated("t-1");
        let subject = bus.subject(EventKind::ChatRead);
        assert_eq!(bus.kind_of_subject(&subject), Some(EventKind::ChatRead));
        assert_eq!(bus.kind_of_subject("other.events.chat.read"), None);
    }

    #[test]
    fn isolated_buses_do_not_overlap() {
        let a = EventBus::isolated("a");
        let b = EventBus::isolated("b");
        assert_ne!(a.stream, b.stream);
        assert!(!a.all_events().starts_with(&b.subject_prefix));
    }
}
