//! Opening many subscriptions and waiting, bounded, until every one is live and the burst of
//! presence announcements that came with them has been read.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::bail;
use fechatter_events::{UserId, WorkspaceId};
use uuid::Uuid;

use super::client::{Subscriber, Subscriptions, subscribe};
use super::tally::Tally;
use crate::seed;

/// Connection attempts in flight at once: below the listen backlog, so no SYN is dropped.
const PARALLEL_CONNECTS: usize = 256;
const POLL: Duration = Duration::from_millis(50);
/// No event for this long means the burst is over.
const QUIET: Duration = Duration::from_millis(500);

/// notify subscribers: user `i + 1` in workspace `i / workspace_size + 1`, each with a token.
pub fn notify_subscribers(
    count: usize,
    workspace_size: usize,
    keys: &crate::BenchKeys,
) -> anyhow::Result<Vec<Subscriber>> {
    let signer = seed::signer(keys)?;
    Ok((0..count)
        .map(|i| {
            let user = UserId(i as i64 + 1);
            let workspace = WorkspaceId((i / workspace_size.max(1)) as i64 + 1);
            Subscriber {
                path: "/events".to_owned(),
                token: Some(seed::token(&signer, user, workspace, Uuid::now_v7())),
                last_event_id: None,
            }
        })
        .collect())
}

pub fn hub_subscribers(count: usize) -> Vec<Subscriber> {
    (0..count)
        .map(|_| Subscriber {
            path: "/events".to_owned(),
            token: None,
            last_event_id: None,
        })
        .collect()
}

pub struct Ramp {
    pub subscriptions: Subscriptions,
    /// From the first connection attempt until every stream had its `connected` event.
    pub connect_time: Duration,
    /// Until the announcements the connections caused had all been read, too.
    pub settle_time: Duration,
}

/// Opens every subscriber (spread over `servers`) and waits until each has its `connected` event
/// and the streams are quiet. Fails if a connection fails or `timeout` passes.
pub async fn open_all(
    servers: &[SocketAddr],
    subscribers: Vec<Subscriber>,
    tally: Arc<Tally>,
    timeout: Duration,
) -> anyhow::Result<Ramp> {
    let count = subscribers.len();
    let started = Instant::now();
    let subscriptions = subscribe(servers, subscribers, PARALLEL_CONNECTS, tally.clone());
    loop {
        let failed = tally.failed.load(Ordering::Relaxed) + tally.ended.load(Ordering::Relaxed);
        if failed > 0 {
            bail!(
                "{failed} of {count} subscriptions failed or ended while connecting: {}",
                tally
                    .first_error()
                    .unwrap_or_else(|| "ended by the server".to_owned())
            );
        }
        if tally.connected.load(Ordering::Relaxed) >= count {
            break;
        }
        if started.elapsed() > timeout {
            bail!(
                "only {} of {count} subscriptions were live after {timeout:?}",
                tally.connected.load(Ordering::Relaxed)
            );
        }
        tokio::time::sleep(POLL).await;
    }
    let connect_time = started.elapsed();
    let mut seen = tally.events.load(Ordering::Relaxed);
    let mut quiet_since = Instant::now();
    while quiet_since.elapsed() < QUIET {
        if started.elapsed() > timeout {
            bail!("the subscriptions were still receiving announcements after {timeout:?}");
        }
        tokio::time::sleep(POLL).await;
        let now = tally.events.load(Ordering::Relaxed);
        if now != seen {
            seen = now;
            quiet_since = Instant::now();
        }
    }
    Ok(Ramp {
        subscriptions,
        connect_time,
        settle_time: started.elapsed() - QUIET,
    })
}
