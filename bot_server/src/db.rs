//! The thin layer every query goes through: it times each operation into
//! `bot_db_query_duration_seconds{operation}` and counts failures in `bot_db_errors_total`.

use std::future::Future;

pub use postgres_kit::ping;

use crate::observability::metrics::POSTGRES;

/// Runs one database operation, recording its duration under `operation` (a fixed name such as
/// `documents.upsert`).
pub async fn timed<T, F>(operation: &'static str, query: F) -> Result<T, sqlx::Error>
where
    F: Future<Output = Result<T, sqlx::Error>>,
{
    // A foreign-key violation is how the index learns a message is gone: an outcome, not a fault.
    POSTGRES
        .timed(operation, query, |err| !is_foreign_key_violation(err))
        .await
}

/// Whether `err` means Postgres cannot be reached or is refusing work right now, so retrying later
/// may succeed. A table that does not exist yet counts too: fechatter_server's migrations (which
/// create the bot's tables) have not run yet, and events must wait for them, not be dead-lettered.
pub fn is_unavailable(err: &sqlx::Error) -> bool {
    postgres_kit::is_unavailable(err) || postgres_kit::is_undefined_table(err)
}

/// Whether `err` is a foreign-key violation: the row it points at (a message, a chat) is gone.
pub fn is_foreign_key_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_foreign_key_violation())
}
