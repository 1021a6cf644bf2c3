//! The gate a consumer takes before handling an event: open while the consumer's own dependency
//! (Postgres for the bot, ClickHouse for analytics) works, closed from the first failure that
//! shows it down until a probe finds it back.
//!
//! While the gate is closed no event is handled: the ones in hand wait, kept alive with progress
//! acks, so they spend no delivery, and since every permit of the pull loop is then held by a
//! waiting event, nothing more is pulled. An outage is waited out, never dead-lettered.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// How often a closed gate probes its dependency, at most.
const PROBE_EVERY_AT_MOST: Duration = Duration::from_secs(2);
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

type Probe = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// Cheap to clone; every clone is the same gate.
#[derive(Clone)]
pub struct Gate {
    inner: Arc<Inner>,
}

struct Inner {
    dependency: &'static str,
    open: watch::Sender<bool>,
    probe: Option<Probe>,
    probing: AtomicBool,
}

impl Gate {
    /// A gate guarding `dependency`, reopened once `probe` succeeds.
    pub fn new<F, Fut>(dependency: &'static str, probe: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        let probe: Probe = Arc::new(move || Box::pin(probe()));
        Self::build(dependency, Some(probe))
    }

    /// A gate with nothing to guard: it never closes.
    pub fn always_open() -> Self {
        Self::build("nothing", None)
    }

    fn build(dependency: &'static str, probe: Option<Probe>) -> Self {
        Self {
            inner: Arc::new(Inner {
                dependency,
                open: watch::Sender::new(true),
                probe,
                probing: AtomicBool::new(false),
            }),
        }
    }

    pub fn is_open(&self) -> bool {
        *self.inner.open.borrow()
    }

    /// The dependency failed (`reason`): close until a probe finds it back.
    pub fn close(&self, reason: &str) {
        let Some(probe) = self.inner.probe.clone() else {
            return;
        };
        if self.inner.open.send_replace(false) {
            tracing::warn!(dependency = self.inner.dependency, %reason,
                "a dependency is down: events wait until it is back");
        }
        if !self.inner.probing.swap(true, Ordering::SeqCst) {
            tokio::spawn(reopen_when_back(Arc::downgrade(&self.inner), probe));
        }
    }

    /// Waits until the gate is open; false when `shutdown` comes first.
    pub async fn wait_open(&self, shutdown: &CancellationToken) -> bool {
        if self.is_open() {
            return true;
        }
        let mut open = self.inner.open.subscribe();
        tokio::select! {
            _ = shutdown.cancelled() => false,
            opened = open.wait_for(|open| *open) => opened.is_ok(),
        }
    }
}

/// Probes with backoff until the dependency answers, then opens the gate. Ends with the gate.
async fn reopen_when_back(gate: Weak<Inner>, probe: Probe) {
    let mut delays = crate::nats::retry_forever();
    loop {
        let delay = delays
            .next()
            .unwrap_or(PROBE_EVERY_AT_MOST)
            .min(PROBE_EVERY_AT_MOST);
        tokio::time::sleep(delay).await;
        let Some(inner) = gate.upgrade() else {
            return;
        };
        if let Ok(Ok(())) = tokio::time::timeout(PROBE_TIMEOUT, probe()).await {
            // Stop probing first: a close() from now on starts a prober of its own.
            inner.probing.store(false, Ordering::SeqCst);
            inner.open.send_replace(true);
            tracing::info!(
                dependency = inner.dependency,
                "a dependency is back: events are handled again"
            );
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;

    use super::*;

    #[tokio::test]
    async fn a_closed_gate_opens_once_its_probe_succeeds() {
        let up = Arc::new(AtomicBool::new(false));
        let probe_up = up.clone();
        let gate = Gate::new("test", move || {
            let up = probe_up.load(Ordering::SeqCst);
            async move { if up { Ok(()) } else { Err("down".to_owned()) } }
        });
        let shutdown = CancellationToken::new();
        gate.close("it failed");
        assert!(!gate.is_open());
        let waiting = tokio::time::timeout(Duration::from_millis(300), gate.wait_open(&shutdown));
        assert!(
            waiting.await.is_err(),
            "the gate stays closed while the probe fails"
        );
        up.store(true, Ordering::SeqCst);
        let opened = tokio::time::timeout(Duration::from_secs(10), gate.wait_open(&shutdown));
        assert_eq!(opened.await.ok(), Some(true));
        assert!(gate.is_open());
    }

    #[tokio::test]
    async fn a_gate_without_a_probe_never_closes_and_shutdown_ends_a_wait() {
        let gate = Gate::always_open();
        gate.close("ignored");
        assert!(gate.is_open());
        let probe_never = Gate::new("test", || async { Err("down".to_owned()) });
        probe_never.close("down");
        let shutdown = CancellationToken::new();
        shutdown.cancel();
        assert!(!probe_never.wait_open(&shutdown).await);
    }
}
