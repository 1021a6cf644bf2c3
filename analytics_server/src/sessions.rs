//! Live client sessions, derived from the events clients post: a session starts with its first
//! event, ends with `app_exit` or `user_logout`, and times out after a quiet spell. Feeds
//! `analytics_sessions_active` and `analytics_session_duration_seconds`; the session report
//! computes the same from the stored events.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::events::ClientEventType;
use crate::observability::metrics::SessionMetrics;

#[derive(Clone)]
pub struct Sessions {
    inner: Arc<Inner>,
}

struct Inner {
    timeout: Duration,
    /// Beyond this many live sessions new ones are not tracked, so bogus session ids cannot
    /// exhaust memory.
    max_tracked: usize,
    live: Mutex<HashMap<String, Session>>,
}

#[derive(Debug, Clone, Copy)]
struct Session {
    started: Instant,
    last_seen: Instant,
}

impl Sessions {
    pub fn new(timeout: Duration, max_tracked: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                timeout,
                max_tracked,
                live: Mutex::new(HashMap::new()),
            }),
        }
    }

    fn live(&self) -> MutexGuard<'_, HashMap<String, Session>> {
        self.inner
            .live
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn active(&self) -> usize {
        self.live().len()
    }

    /// Records an event of session `session_id` seen at `now`.
    pub fn observe(&self, session_id: &str, event_type: ClientEventType, now: Instant) {
        if session_id.is_empty() {
            return;
        }
        let mut live = self.live();
        if event_type.ends_session() {
            if let Some(session) = live.remove(session_id) {
                SessionMetrics::ended(now.saturating_duration_since(session.started));
            }
        } else if let Some(session) = live.get_mut(session_id) {
            session.last_seen = session.last_seen.max(now);
        } else if live.len() < self.inner.max_tracked {
            live.insert(
                session_id.to_owned(),
                Session {
                    started: now,
                    last_seen: now,
                },
            );
        }
        SessionMetrics::active(live.len());
    }

    /// Ends the sessions quiet for longer than the timeout; their length is first to last event.
    pub fn expire(&self, now: Instant) -> usize {
        let timeout = self.inner.timeout;
        let mut live = self.live();
        let before = live.len();
        live.retain(|_, session| {
            let quiet = now.saturating_duration_since(session.last_seen);
            if quiet <= timeout {
                return true;
            }
            SessionMetrics::ended(session.last_seen.saturating_duration_since(session.started));
            false
        });
        SessionMetrics::active(live.len());
        before - live.len()
    }

    /// Expires quiet sessions periodically until `shutdown`.
    pub async fn run_expiry(self, shutdown: CancellationToken) {
        let every =
            (self.inner.timeout / 4).clamp(Duration::from_millis(100), Duration::from_secs(30));
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {
                    self.expire(Instant::now());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn a_session_lives_from_its_first_event_to_its_exit() {
        let sessions = Sessions::new(30 * MINUTE, 10);
        let start = Instant::now();
        sessions.observe("s1", ClientEventType::AppStart, start);
        sessions.observe("s1", ClientEventType::ChatOpened, start + MINUTE);
        sessions.observe("s2", ClientEventType::AppStart, start);
        assert_eq!(sessions.active(), 2);
        sessions.observe("s1", ClientEventType::AppExit, start + 2 * MINUTE);
        assert_eq!(sessions.active(), 1);
        // An exit of a session never seen changes nothing.
        sessions.observe("s9", ClientEventType::UserLogout, start);
        assert_eq!(sessions.active(), 1);
    }

    #[test]
    fn a_quiet_session_times_out() {
        let sessions = Sessions::new(MINUTE, 10);
        let start = Instant::now();
        sessions.observe("quiet", ClientEventType::AppStart, start);
        sessions.observe("busy", ClientEventType::AppStart, start);
        sessions.observe("busy", ClientEventType::Navigation, start + 2 * MINUTE);
        assert_eq!(sessions.expire(start + 2 * MINUTE), 1);
        assert_eq!(sessions.active(), 1);
    }

    #[test]
    fn events_without_a_session_and_sessions_beyond_the_cap_are_not_tracked() {
        let sessions = Sessions::new(MINUTE, 1);
        let now = Instant::now();
        sessions.observe("", ClientEventType::AppStart, now);
        sessions.observe("a", ClientEventType::AppStart, now);
        sessions.observe("b", ClientEventType::AppStart, now);
        assert_eq!(sessions.active(), 1);
    }
}
