//! What reached the app's JetStream stream.

use fechatter_events::{Envelope, EventKind};

use super::{TestApp, WAIT};

impl TestApp {
    async fn jetstream(&self) -> async_nats::jetstream::Context {
        let client = tokio::time::timeout(WAIT, async_nats::connect(&self.nats_url))
            .await
            .unwrap_or_else(|_| panic!("connecting to NATS timed out"))
            .unwrap_or_else(|err| panic!("connecting to NATS: {err}"));
        async_nats::jetstream::new(client)
    }

    /// Every event in the app's stream, in stream order (empty before the stream exists).
    pub async fn stream_events(&self) -> Vec<Envelope> {
        let jetstream = self.jetstream().await;
        let Ok(mut stream) = jetstream.get_stream(&self.bus.stream).await else {
            return Vec::new();
        };
        let state = match stream.info().await {
            Ok(info) => info.state.clone(),
            Err(_) => return Vec::new(),
        };
        let mut events = Vec::new();
        if state.messages == 0 {
            return events;
        }
        for sequence in state.first_sequence..=state.last_sequence {
            let message = stream
                .get_raw_message(sequence)
                .await
                .unwrap_or_else(|err| panic!("reading stream message {sequence}: {err}"));
            let envelope = Envelope::from_json(&message.payload)
                .unwrap_or_else(|err| panic!("stream message {sequence}: {err}"));
            assert_eq!(
                self.bus.kind_of_subject(message.subject.as_str()),
                Some(envelope.kind),
                "subject {} does not match the event kind",
                message.subject
            );
            events.push(envelope);
        }
        events
    }

    /// Waits until every committed event left the outbox, then returns the stream's events.
    pub async fn published_events(&self) -> Vec<Envelope> {
        test_support::wait_until("the outbox to drain", WAIT, || async {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM outbox")
                .fetch_one(&self.pool)
                .await
                .is_ok_and(|pending| pending == 0)
        })
        .await;
        self.stream_events().await
    }

    /// The events published since `seen` events, after the outbox drained.
    pub async fn new_events(&self, seen: &mut usize) -> Vec<Envelope> {
        let events = self.published_events().await;
        let fresh = events[*seen..].to_vec();
        *seen = events.len();
        fresh
    }
}

/// Asserts there is exactly one event, of `kind`, for exactly `recipients` (in any order).
#[track_caller]
pub fn only(events: &[Envelope], kind: EventKind, recipients: &[i64]) -> Envelope {
    let kinds: Vec<EventKind> = events.iter().map(|event| event.kind).collect();
    assert_eq!(kinds, vec![kind], "expected exactly one {kind}");
    let event = events[0].clone();
    let mut got: Vec<i64> = event.recipients.iter().map(|user| user.0).collect();
    got.sort_unstable();
    let mut want = recipients.to_vec();
    want.sort_unstable();
    assert_eq!(got, want, "recipients of {kind}");
    event
}
