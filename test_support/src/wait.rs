//! Bounded polling instead of fixed sleeps.

use std::future::Future;
use std::time::Duration;

/// How often a condition is re-checked: short enough to keep tests fast, long enough not to spin.
pub const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Polls `check` until it returns `true`; panics naming `what` when `timeout` passes first. A check
/// that hangs is cut off by the same timeout.
pub async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    eventually(what, timeout, move || {
        let checked = check();
        async move { checked.await.then_some(()) }
    })
    .await
}

/// Polls `f` until it returns `Some(value)` and returns the value; panics naming `what` when
/// `timeout` passes first.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    try_eventually(timeout, f)
        .await
        .unwrap_or_else(|| panic!("timed out after {timeout:?} waiting for {what}"))
}

/// Like [`eventually`], but `None` on timeout so callers can add context (a server's log) first.
pub async fn try_eventually<T, F, Fut>(timeout: Duration, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let poll = async {
        loop {
            if let Some(value) = f().await {
                return value;
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    };
    tokio::time::timeout(timeout, poll).await.ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn eventually_returns_the_first_value() {
        let mut calls = 0;
        let value = eventually("the third call", Duration::from_secs(5), || {
            calls += 1;
            let n = calls;
            async move { (n >= 3).then_some(n) }
        })
        .await;
        assert_eq!(value, 3);
    }

    #[tokio::test]
    #[should_panic(expected = "timed out after 100ms waiting for nothing")]
    async fn wait_until_panics_with_what_it_waited_for() {
        wait_until("nothing", Duration::from_millis(100), || async { false }).await;
    }
}
