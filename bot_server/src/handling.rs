//! What handling one event can come to, as the bot sees it, and how the shared delivery policy
//! treats each outcome. Its own module so the handlers (index, events, assistant) and the
//! consumers that run them do not import each other.

use fechatter_events::delivery::Failure;

/// Why handling an event did not succeed, as the bot sees it.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// The event can never be handled: dead-lettered at once.
    #[error("malformed event: {0}")]
    Malformed(String),
    /// Postgres or fechatter_server is down: the event waits for it, spending no delivery.
    #[error("{0}")]
    Unavailable(String),
    /// Handling failed in a way that may pass: retried with backoff, then dead-lettered.
    #[error("{0}")]
    Retry(String),
}

impl From<sqlx::Error> for HandleError {
    fn from(err: sqlx::Error) -> Self {
        if crate::db::is_unavailable(&err) {
            HandleError::Unavailable(format!("database: {err}"))
        } else {
            HandleError::Retry(format!("database: {err}"))
        }
    }
}

impl From<HandleError> for Failure {
    fn from(err: HandleError) -> Self {
        match err {
            HandleError::Malformed(reason) => Failure::Malformed(reason),
            HandleError::Unavailable(reason) => Failure::Unavailable(reason),
            HandleError::Retry(reason) => Failure::Retry(reason),
        }
    }
}
