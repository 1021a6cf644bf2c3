//! People of two workspaces sign up, open the app on their devices, make a channel and a direct
//! chat, and talk: every message reaches exactly the members' connections, live, and a device
//! that was away gets exactly what it missed when it comes back.

use std::collections::BTreeMap;

use e2e::api::{Api, User};
use e2e::sse::{Delivered, Sse, message_ids};
use e2e::{Service, Topology};
use serde_json::json;

use crate::{WAIT, reconnect};

/// What the story did so far, for its next parts and the reports.
pub struct Told {
    pub cast: Cast,
    pub chats: Chats,
    pub devices: Vec<Device>,
    /// Messages created per workspace owner (`ann`, `zed`) and chat type.
    pub messages: BTreeMap<(&'static str, &'static str), u64>,
    /// Messages the search part looks for.
    pub said: Said,
}

pub struct Said {
    /// Bob's "got a minute?" in the direct chat.
    pub minute: i64,
    /// Cat's "bob missed this" in #general.
    pub missed: i64,
    /// Zed's "globex only".
    pub globex_only: i64,
    /// Cat's "hello from cat" in #general, which the assistant is asked about.
    pub hello: i64,
}

/// One device with the app open.
pub struct Device {
    pub name: &'static str,
    pub user: i64,
    /// The chats its user is a member of.
    pub chats: Vec<i64>,
    pub sse: Sse,
}

pub struct Chats {
    pub general: i64,
    pub dm: i64,
    pub globex: i64,
}

impl Chats {
    /// The chats `user` is a member of: ann and bob are in #general and their direct chat, cat in
    /// #general, Globex's people in globex.
    pub fn of(&self, user: i64, ann: &User, bob: &User, cat: &User) -> Vec<i64> {
        match user {
            id if id == ann.id || id == bob.id => vec![self.general, self.dm],
            id if id == cat.id => vec![self.general],
            _ => vec![self.globex],
        }
    }
}

pub struct Cast {
    pub ann: User,
    pub bob: User,
    pub cat: User,
    pub zed: User,
}

pub async fn play(topology: &Topology) -> Told {
    let api = Api::new(topology.url(Service::Fechatter));
    let notify = topology.url(Service::Notify);

    let ann = api.sign_up_owner("ann", "Acme").await;
    let bob = api.sign_up_member(&ann, "bob").await;
    let cat = api.sign_up_member(&ann, "cat").await;
    let zed = api.sign_up_owner("zed", "Globex").await;
    let yan = api.sign_up_member(&zed, "yan").await;
    assert_ne!(ann.workspace_id, zed.workspace_id);
    let ann_phone = api.sign_in(&ann).await;
    api.post(
        None,
        "/api/signin",
        json!({"email": bob.email, "password": "not bob's password"}),
    )
    .await
    .expect(401);

    let mut devices = Vec::new();
    for (name, user) in [
        ("ann's desktop", &ann),
        ("ann's phone", &ann_phone),
        ("bob's laptop", &bob),
        ("cat's laptop", &cat),
        ("zed's laptop", &zed),
        ("yan's laptop", &yan),
    ] {
        let (sse, replayed) = Sse::connect(&notify, &user.access_token, None, WAIT).await;
        assert!(
            replayed.is_empty(),
            "{name}: a fresh connection replays nothing"
        );
        devices.push(Device {
            name,
            user: user.id,
            chats: Vec::new(),
            sse,
        });
    }
    assert_presence(&notify, &ann, &[&ann, &bob, &cat]).await;
    assert_presence(&notify, &yan, &[&zed, &yan]).await;

    let chats = Chats {
        general: api
            .create_chat(&ann, "public_channel", Some("general"), &[&bob])
            .await,
        dm: api.create_chat(&ann, "direct", None, &[&bob]).await,
        globex: api
            .create_chat(&zed, "group", Some("globex"), &[&yan])
            .await,
    };
    api.post(
        Some(&cat.access_token),
        &format!("/api/chats/{}/members", chats.general),
        json!({"user_id": cat.id}),
    )
    .await
    .expect(201);
    for device in &mut devices {
        device.chats = chats.of(device.user, &ann, &bob, &cat);
    }

    let mut messages = BTreeMap::new();
    let mut count = |owner: &'static str, chat_type: &'static str, n: u64| {
        *messages.entry((owner, chat_type)).or_insert(0) += n;
    };
    let welcome = api
        .send(&ann, chats.general, "welcome to #general, @bob")
        .await;
    let general = vec![
        welcome,
        api.send(&bob, chats.general, "hi all").await,
        api.send(&cat, chats.general, "hello from cat").await,
    ];
    let dm = vec![
        api.send(&bob, chats.dm, "got a minute?").await,
        api.send(&ann, chats.dm, "sure").await,
    ];
    let globex = vec![
        api.send(&zed, chats.globex, "globex only").await,
        api.send(&yan, chats.globex, "ack").await,
    ];
    count("ann", "public_channel", 3);
    count("ann", "direct", 2);
    count("zed", "group", 2);
    let edit = api
        .call(
            reqwest::Method::PATCH,
            Some(&ann.access_token),
            &format!("/api/chats/{}/messages/{welcome}", chats.general),
            Some(&json!({"content": "welcome to #general, @bob and @cat"})),
        )
        .await;
    edit.expect(200);
    api.call(
        reqwest::Method::PUT,
        Some(&cat.access_token),
        &format!(
            "/api/chats/{}/messages/{welcome}/reactions/👍",
            chats.general
        ),
        None,
    )
    .await
    .expect(204);

    // Each user reads their chats. `chat.read` goes to the reader's own devices only and comes
    // after every message in the stream, so once a device has its own read event it has seen
    // everything the story sent it, and anything sent to it by mistake.
    let reads: [(&User, i64, i64); 5] = [
        (&ann, chats.general, general[2]),
        (&bob, chats.dm, dm[1]),
        (&cat, chats.general, general[2]),
        (&zed, chats.globex, globex[1]),
        (&yan, chats.globex, globex[1]),
    ];
    for (user, chat, last) in reads {
        api.post(
            Some(&user.access_token),
            &format!("/api/chats/{chat}/read"),
            json!({"message_id": last}),
        )
        .await
        .expect(200);
    }
    let history: Vec<i64> = api
        .messages(&cat, chats.general)
        .await
        .iter()
        .filter_map(|m| m["id"].as_i64())
        .collect();
    assert_eq!(history, general, "cat scrolls back through #general");
    let acme_general_and_dm: Vec<i64> = general.iter().chain(&dm).copied().collect();
    let mut seen = BTreeMap::new();
    for device in &mut devices {
        let expected: Vec<i64> = match device.user {
            id if id == ann.id || id == bob.id => {
                let mut ids = acme_general_and_dm.clone();
                ids.sort_unstable();
                ids
            }
            id if id == cat.id => general.clone(),
            _ => globex.clone(),
        };
        let user = device.user;
        let events = device
            .sse
            .until(&format!("{}'s own read", device.name), WAIT, |d| {
                d.kind == "chat.read" && d.envelope["actor_id"] == user
            })
            .await;
        assert_only_for(device.name, user, &device.chats, &events);
        let mut got = message_ids(&events);
        got.sort_unstable();
        assert_eq!(
            got, expected,
            "{}: exactly its chats' messages",
            device.name
        );
        // A device opened right after its user signed up gets that `user.signed_up` live only if
        // notify_server read it after the device went live (a fresh connection starts at the
        // reader's position when it is caught up, fechatter_push's `replay`): one of ann's devices
        // may have it and the other not. Everything since reached both while both were live.
        seen.insert(
            device.name,
            events
                .iter()
                .filter(|d| d.kind != "user.signed_up")
                .map(|d| d.seq)
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(
        seen["ann's desktop"], seen["ann's phone"],
        "both of ann's devices get the same events"
    );

    let cast = Cast { ann, bob, cat, zed };
    let missed = reconnect::come_back(&api, &notify, &mut devices, &cast, &chats).await;
    count("ann", "direct", missed.direct);
    count("ann", "public_channel", missed.public);
    count("zed", "group", missed.elsewhere);

    Told {
        cast,
        said: Said {
            minute: dm[0],
            missed: missed.in_general,
            globex_only: globex[0],
            hello: general[2],
        },
        chats,
        devices,
        messages,
    }
}

/// Every event `device` got belongs to `user`, a member of `chats`.
pub fn assert_only_for(device: &str, user: i64, chats: &[i64], events: &[Delivered]) {
    for event in events {
        assert!(
            event.belongs_to(user, chats),
            "{device} got {} (seq {}): {}",
            event.kind,
            event.seq,
            event.envelope
        );
    }
}

/// Who `asking` sees online in their workspace, in id order.
pub async fn online(notify: &str, asking: &User) -> serde_json::Value {
    let reply = Api::new(notify)
        .get(Some(&asking.access_token), "/online-users")
        .await;
    reply.expect(200);
    reply.body["user_ids"].clone()
}

pub fn ids(users: &[&User]) -> serde_json::Value {
    let mut ids: Vec<i64> = users.iter().map(|u| u.id).collect();
    ids.sort_unstable();
    json!(ids)
}

async fn assert_presence(notify: &str, asking: &User, expected: &[&User]) {
    assert_eq!(online(notify, asking).await, ids(expected));
}
