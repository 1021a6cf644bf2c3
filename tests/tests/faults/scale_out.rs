//! Live delivery scaled out over a 3-node NATS cluster: 300 clients spread over several notify (SSE)
//! or fechatter (WebSocket) instances while messages keep coming; a NATS node and an instance die.
//! Every client reconnects with its cursor and ends with every event addressed to it exactly once,
//! in stream order, and nothing addressed to others. Presence is cluster-wide: a user on one
//! instance is online on another, and a dead instance's users go offline by themselves.

use std::time::Duration;

use e2e::api::{Api, User};
use e2e::follow::{Feed, Fleet, Followed};
use e2e::metrics::{scrape, value};
use e2e::sse::Sse;
use e2e::traffic::{Sender, Sent};
use e2e::{Cluster, Service};
use fechatter_events::EventBus;
use futures::StreamExt;
use test_support::wait_until;

use crate::WAIT;

/// The owner invites everyone, one invite each.
const SETTINGS: &[(&str, &str)] = &[("FECHATTER_RATE_LIMIT_INVITE_PER_MINUTE", "1000")];
/// People, each with this many devices: 300 clients.
const PEOPLE: usize = 100;
const DEVICES: usize = 3;
/// Each of the three senders sends this often.
const EVERY: Duration = Duration::from_millis(150);
/// A killed notify's users go offline within its presence TTL (`FAST_SETTINGS`) and the
/// sweep of the mirror; a loaded machine gets a margin on top.
const OFFLINE_WITHIN: Duration = Duration::from_secs(15);

/// Whether person `i` belongs to a chat.
type Membership = fn(usize) -> bool;

/// The people of one workspace and their chats: everyone's, the even-numbered people's, every third
/// person's. Person 0 owns the workspace and sends into each chat.
struct Crowd {
    api: Api,
    people: Vec<User>,
    /// `(chat, is person i a member)`.
    chats: Vec<(i64, Membership)>,
}

impl Crowd {
    async fn gather(api: Api) -> Crowd {
        let owner = api.sign_up_owner("p0", "Scale").await;
        let members: Vec<User> = futures::stream::iter(1..PEOPLE)
            .map(|i| {
                let (api, owner) = (api.clone(), owner.clone());
                async move { api.sign_up_member(&owner, &format!("p{i}")).await }
            })
            .buffered(8)
            .collect()
            .await;
        let people: Vec<User> = std::iter::once(owner).chain(members).collect();
        let groups: [(&str, Membership); 3] = [
            ("everyone", |_| true),
            ("evens", |i| i % 2 == 0),
            ("thirds", |i| i % 3 == 0),
        ];
        let mut chats = Vec::new();
        for (name, member) in groups {
            let others: Vec<&User> = (1..PEOPLE)
                .filter(|i| member(*i))
                .map(|i| &people[i])
                .collect();
            let chat = api
                .create_chat(&people[0], "group", Some(name), &others)
                .await;
            chats.push((chat, member));
        }
        Crowd { api, people, chats }
    }

    fn owner(&self) -> &User {
        &self.people[0]
    }

    /// One client per device: person `i`'s device `d` starts on instance `(i + d) % instances`.
    fn clients(&self, urls: impl Fn(usize) -> Vec<String>) -> Vec<(String, Vec<String>)> {
        (0..PEOPLE * DEVICES)
            .map(|client| {
                let (person, device) = (client / DEVICES, client % DEVICES);
                (
                    self.people[person].access_token.clone(),
                    urls(person + device),
                )
            })
            .collect()
    }

    /// The owner sends into each chat every `EVERY` until stopped.
    fn start_sending(&self) -> Vec<Sender> {
        self.chats
            .iter()
            .map(|(chat, _)| Sender::start(self.api.clone(), self.owner().clone(), *chat, EVERY))
            .collect()
    }
}

fn stored(senders: &[Sender]) -> usize {
    senders.iter().map(Sender::stored).sum()
}

/// Waits until the senders have stored `more` messages beyond what they had.
async fn while_sending(senders: &[Sender], what: &str, more: usize) {
    let from = stored(senders);
    wait_until(what, WAIT, || async { stored(senders) >= from + more }).await;
}

/// Stops the senders, sends the closing message to everyone, and checks every client: every
/// message of its person's chats once, in stream order, nothing else, no resync.
async fn stop_and_check(crowd: &Crowd, senders: Vec<Sender>, fleet: Fleet) {
    let mut sent: Vec<(usize, Sent)> = Vec::new();
    for (chat, sender) in senders.into_iter().enumerate() {
        let done = sender.stop().await;
        assert!(done.failures.is_empty(), "{:?}", done.failures);
        sent.push((chat, done));
    }
    let (everyone, _) = crowd.chats[0];
    let last = crowd.api.send(crowd.owner(), everyone, "that's all").await;
    let followed = fleet.finish(last, WAIT).await;

    let mut problems = Vec::new();
    let (mut lost, mut doubled) = (0, 0);
    for (client, seen) in followed.iter().enumerate() {
        let person = client / DEVICES;
        let mut expected: Vec<i64> = sent
            .iter()
            .filter(|(chat, _)| (crowd.chats[*chat].1)(person))
            .flat_map(|(_, done)| done.ids.iter().copied())
            .chain([last])
            .collect();
        expected.sort_unstable();
        let mut got = seen.messages();
        got.sort_unstable();
        let unique = {
            let mut unique = got.clone();
            unique.dedup();
            unique
        };
        doubled += got.len() - unique.len();
        let missing = expected.iter().filter(|id| !unique.contains(id)).count();
        lost += missing;
        let foreign = unique.iter().filter(|id| !expected.contains(id)).count();
        if !seen.finished || missing > 0 || foreign > 0 || got.len() != unique.len() {
            problems.push(describe(
                client,
                seen,
                missing,
                foreign,
                got.len() - unique.len(),
            ));
        } else if !seen.in_stream_order() || !seen.resyncs.is_empty() {
            problems.push(describe(client, seen, 0, 0, 0));
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} clients went wrong (lost {lost}, doubled {doubled}); first: {:#?}",
        problems.len(),
        followed.len(),
        &problems[..problems.len().min(5)]
    );
}

fn describe(
    client: usize,
    seen: &Followed,
    missing: usize,
    foreign: usize,
    twice: usize,
) -> String {
    format!(
        "client {client}: finished {}, missing {missing}, not its own {foreign}, twice {twice}, \
         in stream order {}, resyncs {:?}, reconnects {}",
        seen.finished,
        seen.in_stream_order(),
        seen.resyncs,
        seen.reconnects
    )
}

/// The NATS node leading the event stream: where the readers' consumers (one replica each) live.
async fn stream_leader(cluster: &Cluster) -> usize {
    let nats = async_nats::ConnectOptions::new()
        .user_and_password(
            "operator".to_owned(),
            cluster.secrets.nats.password("operator").to_owned(),
        )
        .connect(cluster.nats.url(0))
        .await
        .unwrap_or_else(|err| panic!("connect to NATS as the operator: {err}"));
    let jetstream = async_nats::jetstream::new(nats);
    let stream = jetstream
        .get_stream(EventBus::default().stream)
        .await
        .unwrap_or_else(|err| panic!("the event stream: {err}"));
    let leader = stream
        .cached_info()
        .cluster
        .as_ref()
        .and_then(|cluster| cluster.leader.clone())
        .unwrap_or_else(|| panic!("the event stream has no leader"));
    cluster
        .nats
        .node_named(&leader)
        .unwrap_or_else(|| panic!("{leader} is none of the cluster's nodes"))
}

/// Who `asking` sees online in their workspace, in id order.
async fn online(notify: &str, asking: &User) -> Vec<i64> {
    let reply = Api::new(notify)
        .get(Some(&asking.access_token), "/online-users")
        .await;
    reply.expect(200);
    serde_json::from_value(reply.body["user_ids"].clone()).unwrap_or_default()
}

/// The next `presence.changed` on `observer`'s stream, as (user, online).
async fn next_presence(observer: &mut Sse) -> (i64, bool) {
    let (_, data) = observer.until_signal("presence.changed", WAIT).await;
    (
        data["user_id"].as_i64().unwrap_or_default(),
        data["online"].as_bool().unwrap_or_default(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_notify_instances_on_a_nats_cluster_lose_a_node_and_an_instance_and_every_sse_client_gets_every_event_once_in_order()
 {
    let cluster = Cluster::start(1, 3, SETTINGS).await;
    let notify = |i| cluster.url(Service::Notify, i);
    let crowd = Crowd::gather(Api::new(cluster.url(Service::Fechatter, 0))).await;
    let api = &crowd.api;
    let owner = crowd.owner();
    let (pat, lone, obs) = (
        api.sign_up_member(owner, "pat").await,
        api.sign_up_member(owner, "lone").await,
        api.sign_up_member(owner, "obs").await,
    );

    // Presence across instances: lone on instance 2 is listed by instance 0; pat closing the last
    // of two streams on two instances is heard once by obs on a third.
    let (mut observer, _) = Sse::connect(&notify(1), &obs.access_token, None, WAIT).await;
    let (pats_first, _) = Sse::connect(&notify(0), &pat.access_token, None, WAIT).await;
    let (pats_second, _) = Sse::connect(&notify(1), &pat.access_token, None, WAIT).await;
    let (_lones, _) = Sse::connect(&notify(2), &lone.access_token, None, WAIT).await;
    let mut all_three = vec![pat.id, lone.id, obs.id];
    all_three.sort_unstable();
    wait_until(
        "instance 0 to list the users of every instance",
        WAIT,
        || async { online(&notify(0), owner).await == all_three },
    )
    .await;
    drop(pats_first);
    wait_until("instance 0 to notice pat's stream closed", WAIT, || async {
        value(
            &scrape(&cluster.metrics_url(Service::Notify, 0)).await,
            "notify_sse_connections_active",
            &[],
        ) == Some(0.0)
    })
    .await;
    assert!(
        online(&notify(2), owner).await.contains(&pat.id),
        "pat still has a stream on instance 1"
    );
    drop(pats_second);
    while next_presence(&mut observer).await != (pat.id, false) {}
    let (_pats_third, _) = Sse::connect(&notify(2), &pat.access_token, None, WAIT).await;
    loop {
        let change = next_presence(&mut observer).await;
        assert_ne!(change, (pat.id, false), "pat went offline twice");
        if change == (pat.id, true) {
            break;
        }
    }
    drop(observer);

    // 300 clients over the three instances, then steady sending.
    let fleet = Fleet::start(
        Feed::Sse,
        crowd.clients(|first| cluster.urls_from(Service::Notify, first % 3)),
    );
    wait_until("every client live", WAIT, || async {
        fleet.live() == PEOPLE * DEVICES
    })
    .await;
    let senders = crowd.start_sending();
    while_sending(&senders, "messages before the faults", 15).await;

    // The NATS node leading the stream dies: every reader's consumer lived there, and the notify
    // connected to it fails over to another node. Later one notify instance dies.
    cluster.nats.kill_node(stream_leader(&cluster).await).await;
    while_sending(&senders, "messages while a NATS node is dead", 30).await;
    cluster.kill(Service::Notify, 2).await;
    wait_until("instance 2's clients back on the others", WAIT, || async {
        fleet.reconnected() >= PEOPLE * DEVICES / 3
    })
    .await;
    while_sending(&senders, "messages after the instance died", 15).await;

    // The users whose only stream was on the killed instance go offline once its liveness key is
    // older than the TTL.
    wait_until(
        "lone and pat offline once instance 2 is not heard of for the TTL",
        OFFLINE_WITHIN,
        || async {
            let online = online(&notify(0), owner).await;
            !online.contains(&lone.id) && !online.contains(&pat.id)
        },
    )
    .await;

    stop_and_check(&crowd, senders, fleet).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_fechatter_instances_through_a_nats_node_restart_and_a_crash_give_every_socket_every_event_once_in_order()
 {
    let cluster = Cluster::start(2, 0, SETTINGS).await;
    let crowd = Crowd::gather(Api::new(cluster.url(Service::Fechatter, 0))).await;
    let fleet = Fleet::start(
        Feed::WebSocket,
        crowd.clients(|first| cluster.urls_from(Service::Fechatter, first % 2)),
    );
    wait_until("every socket live", WAIT, || async {
        fleet.live() == PEOPLE * DEVICES
    })
    .await;
    let senders = crowd.start_sending();
    while_sending(&senders, "messages before the faults", 15).await;

    // The NATS node leading the stream restarts: the readers' consumers lived there (and one
    // instance's connection, if it is node 0 or 1); events are published while it is down.
    let leader = stream_leader(&cluster).await;
    cluster.nats.stop_node(leader).await;
    while_sending(&senders, "messages while the leading NATS node is down", 15).await;
    cluster.nats.start_node(leader).await;
    while_sending(&senders, "messages after the node came back", 15).await;

    // Instance 1 crashes; its sockets resume on instance 0 with their cursors.
    cluster.kill(Service::Fechatter, 1).await;
    wait_until("instance 1's sockets back on instance 0", WAIT, || async {
        fleet.reconnected() >= PEOPLE * DEVICES / 2
    })
    .await;
    while_sending(&senders, "messages after the instance died", 15).await;

    stop_and_check(&crowd, senders, fleet).await;
}
