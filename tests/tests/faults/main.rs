//! Faults on the whole topology, each with a topology of its own: a dependency stops or a service
//! crashes while people keep chatting; nothing is lost or doubled, the right signals show (health,
//! metrics, alerts in a real Prometheus) and everything ends healthy by itself.

mod clickhouse;
mod crash;
mod nats;
mod poison;
mod postgres;
mod scale_out;
mod slow_reader;
mod supervision;

use std::time::Duration;

use e2e::api::{Api, User};
use e2e::ops::prometheus_api::PrometheusApi;
use e2e::sse::{Sse, message_ids};
use e2e::{Service, Topology};
use test_support::{Prometheus, eventually};

/// The bound of the waits: generous for a loaded 2-core machine.
pub const WAIT: Duration = Duration::from_secs(45);

/// Two people in a group chat, with the second one's app open.
pub struct Pair {
    pub api: Api,
    pub ann: User,
    pub bob: User,
    pub chat: i64,
    pub bobs_app: Sse,
}

impl Pair {
    pub async fn meet(topology: &Topology) -> Pair {
        let api = Api::new(topology.url(Service::Fechatter));
        let ann = api.sign_up_owner("ann", "Acme").await;
        let bob = api.sign_up_member(&ann, "bob").await;
        let chat = api.create_chat(&ann, "group", Some("team"), &[&bob]).await;
        let (bobs_app, _) = Sse::connect(
            &topology.url(Service::Notify),
            &bob.access_token,
            None,
            WAIT,
        )
        .await;
        Pair {
            api,
            ann,
            bob,
            chat,
            bobs_app,
        }
    }

    /// Waits until bob's search for what ann's sender writes finds exactly `ids` among ann's
    /// messages (in any order), each once: the bot indexed every message, none twice.
    pub async fn indexed_exactly(&self, ids: &[i64]) {
        let mut expected = ids.to_vec();
        expected.sort_unstable();
        // The last look is kept to say what was wrong when the wait runs out.
        let last = std::sync::Mutex::new(Vec::new());
        let indexed = tokio::time::timeout(
            WAIT,
            test_support::wait_until(
                "the index to hold exactly the messages",
                WAIT * 2,
                || async {
                    let mut found: Vec<i64> = self
                        .api
                        .search_hits(&self.bob, "says")
                        .await
                        .iter()
                        .filter(|hit| hit["sender_id"] == self.ann.id)
                        .filter_map(|hit| hit["message_id"].as_i64())
                        .collect();
                    found.sort_unstable();
                    let done = found == expected;
                    *last
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = found;
                    done
                },
            ),
        )
        .await;
        if indexed.is_ok() {
            return;
        }
        let found = last
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        panic!(
            "the search index holds {} results for {} messages (duplicates: {})",
            found.len(),
            expected.len(),
            found.len()
                - found
                    .iter()
                    .collect::<std::collections::BTreeSet<_>>()
                    .len()
        );
    }

    /// Reads bob's app until it has every message of `ids` and asserts it got each exactly once,
    /// in order, and nothing else.
    pub async fn bob_sees_exactly(&mut self, ids: &[i64]) {
        let Some(last) = ids.last().copied() else {
            return;
        };
        let events = self.bobs_app.until_message(last, WAIT).await;
        assert_eq!(message_ids(&events), ids, "each message once, in order");
    }
}

/// The value of a one-sample PromQL query once it exists.
pub async fn prometheus_value(prometheus: &Prometheus, promql: &str) -> f64 {
    let api = PrometheusApi::new(&prometheus.url());
    eventually(&format!("{promql} in Prometheus"), WAIT, || async {
        let samples = api.query(promql).await.ok()?;
        samples.first()?.value.parse().ok()
    })
    .await
}

/// How many dead letters the topology's dead-letter stream holds (0 before any consumer made it).
pub async fn stored_dead_letters(topology: &Topology) -> u64 {
    let nats = async_nats::ConnectOptions::new()
        .user_and_password(
            "operator".to_owned(),
            topology.nats_operator_password().to_owned(),
        )
        .connect(topology.nats.url())
        .await
        .unwrap_or_else(|err| panic!("connect to NATS as the operator: {err}"));
    let jetstream = async_nats::jetstream::new(nats);
    let name = fechatter_events::EventBus::default().dead_letter_stream();
    match jetstream.get_stream(&name).await {
        Ok(mut stream) => {
            stream
                .info()
                .await
                .unwrap_or_else(|err| panic!("{name} info: {err}"))
                .state
                .messages
        }
        Err(_) => 0,
    }
}
