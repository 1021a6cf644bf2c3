//! Background tasks owned by the service's server: a task that panics or ends before shutdown is
//! logged, counted in `{service}_background_task_restarts_total{task}`, shown in `/health` (the
//! non-critical check `background_tasks` is down, so the service is `degraded`, while a task waits
//! to restart and for a minute after) and restarted with backoff.
//!
//! Restarting is safe for every task handed over here: each is a loop that keeps no state between
//! iterations but what it reads again (the outbox, a subscription, a timer), or a start-up step
//! that is idempotent (migrations, creating streams).

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use futures::FutureExt;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::shared::SharedMetrics;

/// How long a restarted task keeps `/health` degraded.
pub const RECENT: Duration = Duration::from_secs(60);
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// When a task's end is a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    /// A loop meant to run until shutdown: ending before it is a failure.
    Always,
    /// A start-up step: ending is its success; only a panic is a failure.
    OnPanic,
}

#[derive(Debug, Default)]
struct TaskState {
    running: bool,
    restarts: u64,
    /// When and how (`panicked` or `ended before shutdown`; the panic's own message is only
    /// logged, as `/health` is public).
    last_failure: Option<(Instant, &'static str)>,
}

struct Inner {
    metrics: &'static SharedMetrics,
    tasks: Mutex<BTreeMap<&'static str, TaskState>>,
    panic_triggers: Mutex<HashMap<&'static str, Arc<Notify>>>,
}

/// Cheap to clone; every clone is the same supervisor.
#[derive(Clone)]
pub struct Supervisor {
    inner: Arc<Inner>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

impl Supervisor {
    pub fn new(metrics: &'static SharedMetrics) -> Self {
        Self {
            inner: Arc::new(Inner {
                metrics,
                tasks: Mutex::new(BTreeMap::new()),
                panic_triggers: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Runs `task()` as the background task `name` until `shutdown`, starting it again with
    /// backoff whenever it fails (see [`Restart`]). The task itself must end on `shutdown` (it is
    /// never cut short, so it can drain); the handle ends once it has ended for good.
    pub fn spawn<F, Fut>(
        &self,
        name: &'static str,
        restart: Restart,
        shutdown: CancellationToken,
        task: F,
    ) -> JoinHandle<()>
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let supervisor = self.clone();
        self.inner
            .metrics
            .background_task_restarts
            .counter_with([("task", name)])
            .increment(0);
        let trigger = Arc::new(Notify::new());
        lock(&self.inner.panic_triggers).insert(name, trigger.clone());
        tokio::spawn(async move {
            let mut backoff = FIRST_BACKOFF;
            loop {
                supervisor.state(name, |state| state.running = true);
                let trigger = trigger.clone();
                let run = task();
                let outcome = std::panic::AssertUnwindSafe(async move {
                    tokio::select! {
                        () = run => {}
                        () = trigger.notified() => panic!("a panic injected into {name} by a test"),
                    }
                })
                .catch_unwind()
                .await;
                supervisor.state(name, |state| state.running = false);
                if shutdown.is_cancelled() {
                    return;
                }
                let (failure, detail) = match outcome {
                    Ok(()) if restart == Restart::OnPanic => return,
                    Ok(()) => ("ended before shutdown", String::new()),
                    Err(payload) => ("panicked", panic_message(payload.as_ref())),
                };
                tracing::error!(task = name, failure, %detail, ?backoff,
                    "a background task failed; restarting it");
                supervisor.failed(name, failure);
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        })
    }

    /// [`Supervisor::spawn`] for the usual shape of a task: `run(state, shutdown)`.
    pub fn run<S, F, Fut>(
        &self,
        name: &'static str,
        restart: Restart,
        state: S,
        shutdown: &CancellationToken,
        run: F,
    ) -> JoinHandle<()>
    where
        S: Clone + Send + 'static,
        F: Fn(S, CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let stop = shutdown.clone();
        self.spawn(name, restart, shutdown.clone(), move || {
            run(state.clone(), stop.clone())
        })
    }

    fn state(&self, name: &'static str, change: impl FnOnce(&mut TaskState)) {
        change(lock(&self.inner.tasks).entry(name).or_default());
    }

    fn failed(&self, name: &'static str, failure: &'static str) {
        self.inner
            .metrics
            .background_task_restarts
            .counter_with([("task", name)])
            .increment(1);
        self.state(name, |state| {
            state.restarts += 1;
            state.last_failure = Some((Instant::now(), failure));
        });
    }

    /// The `background_tasks` health check: down while a task waits to restart or failed within
    /// the last [`RECENT`], with what happened.
    pub fn check(&self) -> Result<(), String> {
        let tasks = lock(&self.inner.tasks);
        let troubled: Vec<String> = tasks
            .iter()
            .filter_map(|(name, state)| {
                let (at, failure) = state.last_failure.as_ref()?;
                let ago = at.elapsed();
                (!state.running || ago < RECENT).then(|| {
                    format!(
                        "{name} restarted {} time(s), last {:.1} s ago ({failure}){}",
                        state.restarts,
                        ago.as_secs_f64(),
                        if state.running {
                            ""
                        } else {
                            ", waiting to restart"
                        }
                    )
                })
            })
            .collect();
        if troubled.is_empty() {
            Ok(())
        } else {
            Err(troubled.join("; "))
        }
    }

    /// Makes the running task `name` panic, so a test can watch it being restarted. Reachable only
    /// from code in the same process (there is no route, variable or signal to it); false when no
    /// such task is supervised.
    #[doc(hidden)]
    pub fn inject_panic(&self, name: &str) -> bool {
        match lock(&self.inner.panic_triggers).get(name) {
            Some(trigger) => {
                trigger.notify_one();
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    async fn eventually(what: &str, condition: impl Fn() -> bool) {
        let waited = tokio::time::timeout(Duration::from_secs(10), async {
            while !condition() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        assert!(waited.await.is_ok(), "timed out waiting for {what}");
    }

    #[tokio::test]
    async fn a_task_that_panics_or_ends_is_restarted_and_reported_until_shutdown() {
        let supervisor = Supervisor::new(SharedMetrics::for_prefix("supervisetest"));
        let shutdown = CancellationToken::new();
        let starts = Arc::new(AtomicUsize::new(0));
        let counted = starts.clone();
        let stop = shutdown.clone();
        let task = supervisor.spawn("looping", Restart::Always, shutdown.clone(), move || {
            let run = counted.fetch_add(1, Ordering::SeqCst);
            let stop = stop.clone();
            async move {
                if run == 1 {
                    // The second run ends by itself: also a failure for a loop.
                    return;
                }
                stop.cancelled().await;
            }
        });
        eventually("the first start", || starts.load(Ordering::SeqCst) == 1).await;
        assert_eq!(supervisor.check(), Ok(()));
        assert!(supervisor.inject_panic("looping"));
        eventually("two restarts", || starts.load(Ordering::SeqCst) == 3).await;
        let report = supervisor.check().err().unwrap_or_default();
        assert!(
            report.contains("looping restarted 2 time(s)")
                && report.contains("ended before shutdown"),
            "{report}"
        );
        shutdown.cancel();
        let ended = tokio::time::timeout(Duration::from_secs(5), task).await;
        assert!(ended.is_ok(), "the supervisor stops with the shutdown");
        assert!(!supervisor.inject_panic("unknown"));
    }

    #[tokio::test]
    async fn a_start_up_step_that_finishes_is_not_restarted() {
        let supervisor = Supervisor::new(SharedMetrics::for_prefix("supervisetest2"));
        let task = supervisor.spawn(
            "step",
            Restart::OnPanic,
            CancellationToken::new(),
            || async {},
        );
        let ended = tokio::time::timeout(Duration::from_secs(5), task).await;
        assert!(ended.is_ok());
        assert_eq!(supervisor.check(), Ok(()));
    }
}
