//! Twenty people chat in four rooms for half a minute while NATS restarts under them: not one
//! message is lost or doubled anywhere. Sent = stored = delivered once to each member's live
//! connection = counted once in ClickHouse = indexed once for search.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use e2e::api::{Api, User};
use e2e::sse::{Delivered, Sse};
use e2e::traffic::{Sender, Sent};
use e2e::{Service, Topology};
use test_support::wait_until;

const ROOMS: usize = 4;
const PER_ROOM: usize = 5;
/// Each person sends this often (within the per-user send rate a deployment allows) until they
/// have sent `EACH` messages: about 25 s of load.
const EVERY: Duration = Duration::from_millis(500);
const EACH: usize = 50;
const WAIT: Duration = Duration::from_secs(60);
const OVER: &str = "that's all for today";

struct Room {
    id: i64,
    members: Vec<User>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_people_chat_through_a_nats_restart_and_nothing_is_lost_or_doubled() {
    let topology = Topology::start().await;
    let api = Api::new(topology.url(Service::Fechatter));
    let notify = topology.url(Service::Notify);
    let owner = api.sign_up_owner("host", "Load").await;
    let mut people = Vec::new();
    for n in 0..ROOMS * PER_ROOM {
        people.push(api.sign_up_member(&owner, &format!("p{n}")).await);
    }
    let mut rooms = Vec::new();
    for (n, members) in people.chunks(PER_ROOM).enumerate() {
        let others: Vec<&User> = members.iter().collect();
        let id = api
            .create_chat(&owner, "group", Some(&format!("room {n}")), &others)
            .await;
        rooms.push(Room {
            id,
            members: members.to_vec(),
        });
    }

    // Everyone's app reads live until its room's closing message.
    let mut readers = Vec::new();
    for room in &rooms {
        for member in &room.members {
            let (mut app, _) = Sse::connect(&notify, &member.access_token, None, WAIT).await;
            let (user, chat) = (member.id, room.id);
            readers.push(tokio::spawn(async move {
                let events = app
                    .until("the closing message", WAIT * 2, |d| {
                        d.envelope["data"]["content"] == OVER
                    })
                    .await;
                (user, chat, events)
            }));
        }
    }

    let senders: Vec<(i64, Sender)> = rooms
        .iter()
        .flat_map(|room| {
            room.members.iter().map(|member| {
                let sender = Sender::start(api.clone(), member.clone(), room.id, EVERY);
                (room.id, sender)
            })
        })
        .collect();
    let stored = || senders.iter().map(|(_, s)| s.stored()).sum::<usize>();
    let everyone = ROOMS * PER_ROOM * EACH;
    wait_until("a third of the load", WAIT, || async {
        stored() >= everyone / 3
    })
    .await;
    topology.nats.stop().await;
    wait_until("fechatter to notice NATS is gone", WAIT, || async {
        topology.health(Service::Fechatter).await.1["checks"]["nats"]["status"] == "down"
    })
    .await;
    let at_stop = stored();
    wait_until(
        "people to keep sending while NATS is away",
        WAIT,
        || async { stored() >= at_stop + 40 },
    )
    .await;
    topology.nats.start().await;
    wait_until("everyone to have sent their share", WAIT * 2, || async {
        senders.iter().all(|(_, s)| s.stored() >= EACH)
    })
    .await;

    let mut sent: BTreeMap<i64, Vec<Sent>> = BTreeMap::new();
    for (room, sender) in senders {
        sent.entry(room).or_default().push(sender.stop().await);
    }
    let mut closing = Vec::new();
    for room in &rooms {
        let id = api.send(&owner, room.id, OVER).await;
        closing.push(id);
        sent.entry(room.id).or_default().push(Sent {
            ids: vec![id],
            failures: Vec::new(),
        });
    }
    let failures: Vec<_> = sent.values().flatten().flat_map(|s| &s.failures).collect();
    assert!(failures.is_empty(), "sends failed: {failures:?}");
    let total: usize = sent.values().flatten().map(|s| s.ids.len()).sum();
    assert!(total >= everyone, "only {total} messages were sent");

    for room in &rooms {
        let expected: BTreeSet<i64> = sent[&room.id].iter().flat_map(|s| s.ids.clone()).collect();
        let stored: Vec<i64> = api
            .messages(&owner, room.id)
            .await
            .iter()
            .filter_map(|m| m["id"].as_i64())
            .collect();
        assert_eq!(
            stored.iter().copied().collect::<BTreeSet<_>>(),
            expected,
            "room {}: stored = sent",
            room.id
        );
        assert_eq!(
            stored.len(),
            expected.len(),
            "room {}: stored once",
            room.id
        );
    }
    for reader in readers {
        let (user, chat, events) = reader
            .await
            .unwrap_or_else(|err| panic!("a reader failed: {err}"));
        assert_delivered_once_in_order(user, &sent[&chat], &events);
    }
    let total = total as u64;
    wait_until("ClickHouse to count every message once", WAIT, || async {
        topology
            .analytics_rows("event_type = 'message.created'")
            .await
            == (total, total)
    })
    .await;
    // Indexed once: the host's search for what everyone wrote finds each message exactly once.
    let mut written: Vec<i64> = sent
        .values()
        .flatten()
        .flat_map(|s| s.ids.clone())
        .filter(|id| !closing.contains(id))
        .collect();
    written.sort_unstable();
    wait_until(
        "the search index to hold every message once",
        WAIT,
        || async {
            let mut found = api.search(&owner, "says").await;
            found.sort_unstable();
            found == written
        },
    )
    .await;
}

/// `events` (one member's live stream) hold every message of `sent` exactly once, each sender's in
/// the order they were sent, and no message of another room.
fn assert_delivered_once_in_order(user: i64, sent: &[Sent], events: &[Delivered]) {
    let received: Vec<i64> = events.iter().filter_map(Delivered::message_id).collect();
    let unique: BTreeSet<i64> = received.iter().copied().collect();
    assert_eq!(
        unique.len(),
        received.len(),
        "user {user} got a message twice"
    );
    let expected: BTreeSet<i64> = sent.iter().flat_map(|s| s.ids.clone()).collect();
    assert_eq!(unique, expected, "user {user}: delivered = sent");
    for sender in sent {
        let theirs: Vec<i64> = received
            .iter()
            .copied()
            .filter(|id| sender.ids.contains(id))
            .collect();
        assert_eq!(
            theirs, sender.ids,
            "user {user}: one sender's messages in order"
        );
    }
}
