//! Cluster-wide presence in a JetStream key-value bucket: a key per (user, instance) while the user
//! has a connection there, written when the user's first connection there opens and deleted when
//! the last one closes, and one liveness key per instance, refreshed by a heartbeat. An instance
//! whose liveness has not been refreshed for the TTL is dead and its users are offline there, so a
//! killed instance's users go offline by themselves; an idle instance writes one key per
//! heartbeat, not one per connected user. The users' keys are rewritten slowly (each once in
//! `USER_KEY_REFRESH_HEARTBEATS`), only so that the bucket's max age, which clears delete markers
//! and a dead instance's keys, never drops the key of a user still connected.
//!
//! Every instance watches the whole bucket into a mirror. A `presence.changed` is derived from the
//! mirror (a user's first key on a live instance, their last key gone or its instance dead) and
//! each instance hands it to its own connections only; nobody publishes it. As every instance sees
//! the bucket's changes in the same order, each member of a workspace hears of each transition
//! exactly once, on whichever instance they are connected to.

mod mirror;

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_nats::jetstream::{self, kv, stream};
use chrono::Utc;
use fechatter_events::nats::until_ok;
use fechatter_events::{EventBus, UserId, WorkspaceId};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use mirror::{Entry, Key, Mirror, Transition};

use crate::frame::{Frame, FrameKind};
use crate::hub::{Hub, LocalPresence};
use crate::metrics::{LogError, PushMetrics};

/// How often the mirror drops keys the bucket's max age has removed.
const SWEEP: Duration = Duration::from_secs(1);
/// Writes in flight at once.
const CONCURRENT_WRITES: usize = 32;
/// Each user's key is rewritten once in this many heartbeats (a slice of the users on each).
const USER_KEY_REFRESH_HEARTBEATS: u32 = 120;
/// The bucket's max age, in heartbeats: three refreshes of a user's key fit in it.
const KEY_MAX_AGE_HEARTBEATS: u32 = 3 * USER_KEY_REFRESH_HEARTBEATS;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceSettings {
    /// An instance whose liveness key has not been refreshed for this long is dead: its users are
    /// offline there.
    pub ttl: Duration,
    /// How often this instance refreshes its liveness key (well under `ttl`).
    pub heartbeat: Duration,
}

impl PresenceSettings {
    /// How long the bucket keeps a key not rewritten: delete markers and a dead instance's keys
    /// go after it.
    fn key_max_age(&self) -> Duration {
        (self.heartbeat * KEY_MAX_AGE_HEARTBEATS).max(self.ttl)
    }
}

/// What keeping presence uses of the push core: the bucket's JetStream, the local connections and
/// the error counter.
#[derive(Clone, Copy)]
pub(crate) struct CoreParts<'a> {
    pub jetstream: &'a jetstream::Context,
    pub hub: &'a Hub,
    pub metrics: &'a dyn PushMetrics,
}

pub struct Presence {
    bucket: String,
    replicas: usize,
    /// This process's name in the keys: unique per start, so a restarted instance never revives
    /// the keys of its previous life.
    instance: String,
    settings: PresenceSettings,
    mirror: Mutex<Mirror>,
}

impl Presence {
    pub fn new(bus: &EventBus, settings: PresenceSettings) -> Self {
        Self {
            bucket: bus.presence_bucket(),
            replicas: bus.replicas,
            instance: uuid::Uuid::now_v7().simple().to_string(),
            settings,
            mirror: Mutex::new(Mirror::default()),
        }
    }

    fn mirror(&self) -> MutexGuard<'_, Mirror> {
        self.mirror.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Instances heard of since then are alive.
    fn live_since(&self) -> chrono::DateTime<Utc> {
        ago(self.settings.ttl)
    }

    /// Keys written before then are gone from the bucket (its max age).
    fn kept_since(&self) -> chrono::DateTime<Utc> {
        ago(self.settings.key_max_age())
    }

    /// The workspace's users connected anywhere, as the bucket says.
    pub fn online_in(&self, workspace: WorkspaceId) -> Vec<UserId> {
        self.mirror().online_in(workspace)
    }

    fn key(&self, workspace: WorkspaceId, user: UserId) -> String {
        Key {
            workspace,
            user,
            instance: self.instance.clone(),
        }
        .to_key()
    }

    fn instance_key(&self) -> String {
        mirror::instance_key(&self.instance)
    }

    fn stream_config(&self) -> stream::Config {
        stream::Config {
            name: format!("KV_{}", self.bucket),
            description: Some("who is connected to which push instance".to_owned()),
            subjects: vec![format!("$KV.{}.>", self.bucket)],
            max_messages_per_subject: 1,
            max_age: self.settings.key_max_age(),
            storage: stream::StorageType::File,
            num_replicas: self.replicas,
            allow_rollup: true,
            deny_delete: true,
            allow_direct: true,
            discard: stream::DiscardPolicy::New,
            ..Default::default()
        }
    }

    /// Opens the bucket, creating it when missing, and gives it the max age this version's keys
    /// need (a bucket made when every user's key was refreshed each heartbeat kept keys only for
    /// the TTL). The bucket's stream is created directly, as async-nats' `create_key_value` first
    /// reads account info in a shape NATS 2.9 does not send.
    async fn open(&self, core: CoreParts<'_>) -> Result<kv::Store, async_nats::Error> {
        let config = self.stream_config();
        match core.jetstream.get_stream(&config.name).await {
            Ok(mut existing) => {
                let current = existing.info().await?.config.clone();
                if current.max_age != config.max_age {
                    let updated = core
                        .jetstream
                        .update_stream(stream::Config {
                            max_age: config.max_age,
                            ..current
                        })
                        .await;
                    if let Err(err) = updated {
                        // Another instance may be updating it too; keys then live the TTL only.
                        tracing::warn!(error = %err, "setting the presence bucket's max age");
                    }
                }
            }
            Err(_) => {
                if let Err(err) = core.jetstream.create_stream(config).await {
                    // Another instance may have created it meanwhile.
                    tracing::debug!(error = %err, "creating the presence bucket");
                }
            }
        }
        Ok(core.jetstream.get_key_value(&self.bucket).await?)
    }
}

/// Keeps this instance's keys and the mirror until `shutdown`.
pub(crate) async fn run(
    presence: &Presence,
    core: CoreParts<'_>,
    local: mpsc::UnboundedReceiver<LocalPresence>,
    shutdown: CancellationToken,
) {
    let opened = until_ok("opening the presence bucket", &shutdown, || async move {
        let opened = presence.open(core).await;
        if opened.is_err() {
            core.metrics.log_error(LogError::Presence);
        }
        opened
    })
    .await;
    let Some(store) = opened else {
        return;
    };
    tokio::join!(
        keep(core, presence, &store, local, &shutdown),
        watch(core, presence, &store, &shutdown),
    );
}

/// Writes this instance's keys: a user's at once on their first and last local connection (the
/// changes waiting are written together), the liveness key and a slice of the users' keys on each
/// heartbeat, and again whatever failed to be written.
async fn keep(
    core: CoreParts<'_>,
    presence: &Presence,
    store: &kv::Store,
    mut local: mpsc::UnboundedReceiver<LocalPresence>,
    shutdown: &CancellationToken,
) {
    let mut heartbeat = tokio::time::interval(presence.settings.heartbeat);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut beats: u32 = 0;
    // Users whose key could not be written: set right on the next heartbeat.
    let mut unsettled: Vec<(WorkspaceId, UserId)> = Vec::new();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            change = local.recv() => {
                let Some(change) = change else { break };
                // Coalesced per user: the last change of each is the one that holds.
                let mut changes = HashMap::from([((change.workspace, change.user), change.connected)]);
                while let Ok(change) = local.try_recv() {
                    changes.insert((change.workspace, change.user), change.connected);
                }
                let failed = write(presence, store, changes).await;
                if !failed.is_empty() {
                    // The next heartbeat writes it again; a missed delete expires.
                    tracing::warn!(users = failed.len(), "writing presence failed");
                    core.metrics.log_error(LogError::Presence);
                    unsettled.extend(failed);
                }
            },
            _ = heartbeat.tick() => {
                let slice = beats % USER_KEY_REFRESH_HEARTBEATS;
                beats = beats.wrapping_add(1);
                unsettled = refresh(core, presence, store, slice, std::mem::take(&mut unsettled)).await;
            }
        }
    }
    // Leaving: this instance's users are offline here at once rather than after the TTL.
    let leave = async {
        let users = core.hub.local_users().into_iter().map(|user| (user, false));
        write(presence, store, users.collect()).await;
        let _ = store.delete(presence.instance_key()).await;
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), leave).await;
}

/// Puts (connected) or deletes each user's key, some at once; returns the users whose write failed.
async fn write(
    presence: &Presence,
    store: &kv::Store,
    changes: HashMap<(WorkspaceId, UserId), bool>,
) -> Vec<(WorkspaceId, UserId)> {
    let failed = Mutex::new(Vec::new());
    futures::stream::iter(changes)
        .for_each_concurrent(CONCURRENT_WRITES, |((workspace, user), connected)| {
            let failed = &failed;
            async move {
                let key = presence.key(workspace, user);
                tracing::debug!(%key, connected, "local presence");
                let written = if connected {
                    store
                        .put(&key, bytes::Bytes::new())
                        .await
                        .map(drop)
                        .map_err(async_nats::Error::from)
                } else {
                    store.delete(&key).await.map_err(async_nats::Error::from)
                };
                if written.is_err() {
                    failed
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push((workspace, user));
                }
            }
        })
        .await;
    failed.into_inner().unwrap_or_else(PoisonError::into_inner)
}

/// One heartbeat: the liveness key, the keys of the users in `slice`, and the `unsettled` users'
/// keys set to what the hub says now. Returns the users still unsettled.
async fn refresh(
    core: CoreParts<'_>,
    presence: &Presence,
    store: &kv::Store,
    slice: u32,
    unsettled: Vec<(WorkspaceId, UserId)>,
) -> Vec<(WorkspaceId, UserId)> {
    let liveness_failed = store
        .put(presence.instance_key(), bytes::Bytes::new())
        .await
        .is_err();
    let local = core.hub.local_users();
    let mut changes: HashMap<(WorkspaceId, UserId), bool> =
        unsettled.into_iter().map(|user| (user, false)).collect();
    for user in local {
        let in_slice =
            user.1.0.rem_euclid(i64::from(USER_KEY_REFRESH_HEARTBEATS)) == i64::from(slice);
        if in_slice || changes.contains_key(&user) {
            changes.insert(user, true);
        }
    }
    let failed = write(presence, store, changes).await;
    if liveness_failed || !failed.is_empty() {
        tracing::warn!("refreshing presence failed");
        core.metrics.log_error(LogError::Presence);
    }
    failed
}

/// Follows the bucket into the mirror and announces each transition to this instance's own
/// connections of the workspace.
async fn watch(
    core: CoreParts<'_>,
    presence: &Presence,
    store: &kv::Store,
    shutdown: &CancellationToken,
) {
    let mut sweep = tokio::time::interval(SWEEP);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    'watch: loop {
        let watched = until_ok("watching the presence bucket", shutdown, || {
            store.watch_with_history(">")
        })
        .await;
        let Some(mut entries) = watched else {
            return;
        };
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                entry = entries.next() => match entry {
                    Some(Ok(entry)) => {
                        tracing::debug!(key = %entry.key, op = ?entry.operation, rev = entry.revision, "presence entry");
                        let Some(key) = Entry::parse(&entry.key) else {
                            continue;
                        };
                        let at = chrono::DateTime::from_timestamp(
                            entry.created.unix_timestamp(),
                            entry.created.nanosecond(),
                        )
                        .unwrap_or_else(Utc::now);
                        let live_since = presence.live_since();
                        let mut mirror = presence.mirror();
                        let transitions = match (key, entry.operation) {
                            (Entry::User(key), kv::Operation::Put) => mirror.put(key, at, live_since),
                            (Entry::Instance(name), kv::Operation::Put) => {
                                mirror.put_instance(&name, at, live_since)
                            }
                            (Entry::User(key), kv::Operation::Delete | kv::Operation::Purge) => {
                                mirror.remove(&key).into_iter().collect()
                            }
                            (Entry::Instance(name), kv::Operation::Delete | kv::Operation::Purge) => {
                                mirror.remove_instance(&name)
                            }
                        };
                        drop(mirror);
                        announce(core, transitions);
                    }
                    // The watch restarts its consumer by itself after a missed heartbeat.
                    Some(Err(err)) => {
                        tracing::debug!(error = %err, "the presence watch hiccupped");
                    }
                    None => continue 'watch,
                },
                _ = sweep.tick() => {
                    let expired = presence
                        .mirror()
                        .expire(presence.live_since(), presence.kept_since());
                    announce(core, expired);
                }
            }
        }
    }
}

/// `duration` before now.
fn ago(duration: Duration) -> chrono::DateTime<Utc> {
    Utc::now() - chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}

fn announce(core: CoreParts<'_>, transitions: Vec<Transition>) {
    for transition in transitions {
        let frame = Frame::signal(
            FrameKind::PresenceChanged,
            None,
            &serde_json::json!({
                "workspace_id": transition.workspace,
                "user_id": transition.user,
                "online": transition.online,
                "at": Utc::now(),
            }),
        );
        core.hub
            .deliver_to_workspace(transition.workspace, transition.user, frame);
    }
}
