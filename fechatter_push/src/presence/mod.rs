//! Cluster-wide presence in a JetStream key-value bucket: a key per (user, instance) while the user
//! has a connection there, refreshed by a heartbeat and expired by the bucket's max age, so a dead
//! instance's users go offline by themselves.
//!
//! Every instance watches the whole bucket into a mirror. A `presence.changed` is derived from the
//! mirror (a user's first key anywhere, their last key gone) and each instance hands it to its own
//! connections only; nobody publishes it. As every instance sees the bucket's changes in the same
//! order, each member of a workspace hears of each transition exactly once, on whichever instance
//! they are connected to.

mod mirror;

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_nats::jetstream::{self, kv, stream};
use chrono::Utc;
use fechatter_events::nats::until_ok;
use fechatter_events::{EventBus, UserId, WorkspaceId};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use mirror::{Key, Mirror, Transition};

use crate::frame::{Frame, FrameKind};
use crate::hub::{Hub, LocalPresence};
use crate::metrics::{LogError, PushMetrics};

/// How often the mirror drops keys the bucket's max age has removed.
const SWEEP: Duration = Duration::from_secs(1);
/// Writes of a heartbeat in flight at once.
const CONCURRENT_WRITES: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceSettings {
    /// The bucket's max age: a key not refreshed for this long is gone and, if it was the user's
    /// last, the user is offline.
    pub ttl: Duration,
    /// How often this instance refreshes the keys of its connected users (well under `ttl`).
    pub heartbeat: Duration,
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

    /// Opens the bucket, creating it when missing. The bucket's stream is created directly, as
    /// async-nats' `create_key_value` first reads account info in a shape NATS 2.9 does not send.
    async fn open(&self, core: CoreParts<'_>) -> Result<kv::Store, async_nats::Error> {
        if let Ok(store) = core.jetstream.get_key_value(&self.bucket).await {
            return Ok(store);
        }
        let created = core
            .jetstream
            .create_stream(stream::Config {
                name: format!("KV_{}", self.bucket),
                description: Some("who is connected to which push instance".to_owned()),
                subjects: vec![format!("$KV.{}.>", self.bucket)],
                max_messages_per_subject: 1,
                max_age: self.settings.ttl,
                storage: stream::StorageType::File,
                num_replicas: self.replicas,
                allow_rollup: true,
                deny_delete: true,
                allow_direct: true,
                discard: stream::DiscardPolicy::New,
                ..Default::default()
            })
            .await;
        if let Err(err) = created {
            // Another instance may have created it meanwhile.
            tracing::debug!(error = %err, "creating the presence bucket");
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

/// Writes this instance's keys: at once on a user's first and last local connection, and for
/// every connected user on each heartbeat.
async fn keep(
    core: CoreParts<'_>,
    presence: &Presence,
    store: &kv::Store,
    mut local: mpsc::UnboundedReceiver<LocalPresence>,
    shutdown: &CancellationToken,
) {
    let mut heartbeat = tokio::time::interval(presence.settings.heartbeat);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            change = local.recv() => match change {
                Some(change) => {
                    let key = presence.key(change.workspace, change.user);
                    tracing::debug!(%key, connected = change.connected, "local presence");
                    let written = if change.connected {
                        store.put(&key, bytes::Bytes::new()).await.map(drop).map_err(async_nats::Error::from)
                    } else {
                        store.delete(&key).await.map_err(async_nats::Error::from)
                    };
                    if let Err(err) = written {
                        // The next heartbeat writes it again; a missed delete expires.
                        tracing::warn!(error = %err, "writing presence failed");
                        core.metrics.log_error(LogError::Presence);
                    }
                }
                None => break,
            },
            _ = heartbeat.tick() => refresh(core, presence, store).await,
        }
    }
    // Leaving: this instance's users are offline here at once rather than after the max age.
    let leave = futures::stream::iter(core.hub.local_users()).for_each_concurrent(
        CONCURRENT_WRITES,
        |(workspace, user)| async move {
            let _ = store.delete(presence.key(workspace, user)).await;
        },
    );
    let _ = tokio::time::timeout(Duration::from_secs(2), leave).await;
}

async fn refresh(core: CoreParts<'_>, presence: &Presence, store: &kv::Store) {
    let failures = std::sync::atomic::AtomicUsize::new(0);
    futures::stream::iter(core.hub.local_users())
        .for_each_concurrent(CONCURRENT_WRITES, |(workspace, user)| {
            let failures = &failures;
            async move {
                if store
                    .put(presence.key(workspace, user), bytes::Bytes::new())
                    .await
                    .is_err()
                {
                    failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        })
        .await;
    if failures.into_inner() > 0 {
        tracing::warn!("refreshing presence failed");
        core.metrics.log_error(LogError::Presence);
    }
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
                        let Some(key) = Key::parse(&entry.key) else {
                            continue;
                        };
                        let transition = match entry.operation {
                            kv::Operation::Put => {
                                let at = chrono::DateTime::from_timestamp(
                                    entry.created.unix_timestamp(),
                                    entry.created.nanosecond(),
                                )
                                .unwrap_or_else(Utc::now);
                                presence.mirror().put(key, at)
                            }
                            kv::Operation::Delete | kv::Operation::Purge => {
                                presence.mirror().remove(&key)
                            }
                        };
                        announce(core, transition);
                    }
                    // The watch restarts its consumer by itself after a missed heartbeat.
                    Some(Err(err)) => {
                        tracing::debug!(error = %err, "the presence watch hiccupped");
                    }
                    None => continue 'watch,
                },
                _ = sweep.tick() => {
                    let before = Utc::now()
                        - chrono::Duration::from_std(presence.settings.ttl)
                            .unwrap_or(chrono::Duration::MAX);
                    let expired = presence.mirror().expire(before);
                    for transition in expired {
                        announce(core, Some(transition));
                    }
                }
            }
        }
    }
}

fn announce(core: CoreParts<'_>, transition: Option<Transition>) {
    let Some(transition) = transition else {
        return;
    };
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
