//! The events this service has finished (`bot_processed_events`): a redelivery is recognised by
//! its id and skipped.

use std::time::Duration;

use fechatter_events::EventId;
use sqlx::PgExecutor;

use crate::db::timed;

pub async fn insert(db: impl PgExecutor<'_>, event: EventId) -> Result<(), sqlx::Error> {
    timed(
        "processed.insert",
        sqlx::query(
            "INSERT INTO bot_processed_events (event_id) VALUES ($1) ON CONFLICT DO NOTHING",
        )
        .bind(event)
        .execute(db),
    )
    .await
    .map(|_| ())
}

/// Forgets events older than `age`; how many.
pub async fn prune(db: impl PgExecutor<'_>, age: Duration) -> Result<u64, sqlx::Error> {
    timed(
        "processed.prune",
        sqlx::query(
            "DELETE FROM bot_processed_events
             WHERE processed_at < now() - make_interval(secs => $1)",
        )
        .bind(age.as_secs_f64())
        .execute(db),
    )
    .await
    .map(|done| done.rows_affected())
}
