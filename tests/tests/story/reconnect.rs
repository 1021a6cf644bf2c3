//! Bob closes his laptop, messages keep coming, and when he opens it again the app resumes with
//! `Last-Event-ID`: it gets exactly what he missed, in order, then live events again.

use e2e::api::Api;
use e2e::sse::{Sse, cursor_seq, message_ids};
use test_support::wait_until;

use crate::WAIT;
use crate::chat::{Cast, Chats, Device, assert_only_for, ids, online};

/// Messages sent while bob was away (and after), by where they went.
pub struct Missed {
    pub direct: u64,
    pub public: u64,
    /// In Globex, which bob never sees.
    pub elsewhere: u64,
    /// The one sent to #general while bob was away.
    pub in_general: i64,
}

pub async fn come_back(
    api: &Api,
    notify: &str,
    devices: &mut Vec<Device>,
    cast: &Cast,
    chats: &Chats,
) -> Missed {
    let Cast { ann, bob, cat, zed } = cast;
    let position = devices
        .iter()
        .position(|d| d.user == bob.id)
        .unwrap_or_else(|| panic!("bob has a device"));
    let away = devices.remove(position);
    let resume_after = away
        .sse
        .last_event_id
        .clone()
        .unwrap_or_else(|| panic!("bob's laptop has seen events"));
    drop(away);
    wait_until("bob to go offline", WAIT, || async {
        online(notify, ann).await == ids(&[ann, cat])
    })
    .await;

    let missed = vec![
        api.send(ann, chats.dm, "are you there?").await,
        api.send(ann, chats.dm, "call me").await,
        api.send(cat, chats.general, "bob missed this").await,
    ];
    let not_for_bob = api.send(zed, chats.globex, "not for bob").await;
    for device in devices.iter_mut() {
        let last = if device.user == ann.id || device.user == cat.id {
            missed[2]
        } else {
            not_for_bob
        };
        let events = device.sse.until_message(last, WAIT).await;
        assert_only_for(device.name, device.user, &device.chats, &events);
    }

    let (mut laptop, replayed) =
        Sse::connect(notify, &bob.access_token, Some(&resume_after), WAIT).await;
    assert_eq!(
        message_ids(&replayed),
        missed,
        "exactly the missed messages, in order"
    );
    assert!(
        replayed.iter().all(|d| d.kind == "message.created"),
        "nothing but the missed messages: {replayed:?}"
    );
    let after = cursor_seq(&resume_after).unwrap_or_default();
    assert!(replayed.iter().all(|d| d.seq > after));
    let bobs_chats = chats.of(bob.id, ann, bob, cat);
    assert_only_for("bob's laptop", bob.id, &bobs_chats, &replayed);
    assert_eq!(online(notify, ann).await, ids(&[ann, bob, cat]));

    let live = api.send(ann, chats.dm, "welcome back").await;
    let events = laptop.until_message(live, WAIT).await;
    assert_eq!(
        message_ids(&events),
        vec![live],
        "live again, nothing twice"
    );
    devices.push(Device {
        name: "bob's laptop",
        user: bob.id,
        chats: bobs_chats,
        sse: laptop,
    });
    Missed {
        direct: 3,
        public: 1,
        elsewhere: 1,
        in_general: missed[2],
    }
}
