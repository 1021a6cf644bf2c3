use fechatter_events::{Envelope, EventId, EventKind};
use sqlx::types::Json;
use sqlx::{FromRow, PgExecutor};

use crate::db::timed;

/// The advisory-lock key held by the one relay that publishes at a time, across instances.
pub const RELAY_LOCK: i64 = 0x6665_6368_6174_7472; // "fechattr" in ASCII

#[derive(Debug, Clone, FromRow)]
pub struct PendingEvent {
    pub seq: i64,
    pub event_id: EventId,
    pub kind: EventKind,
    /// The envelope as JSON text, published as is.
    pub body: String,
}

/// Writes the event in the caller's transaction. No NOTIFY: it would serialise every commit on a
/// database-wide lock; the writer wakes its relay after the commit (`service::events::commit`).
pub async fn insert(db: impl PgExecutor<'_>, envelope: &Envelope) -> Result<(), sqlx::Error> {
    timed(
        "outbox.insert",
        sqlx::query("INSERT INTO outbox (event_id, kind, envelope) VALUES ($1, $2, $3)")
            .bind(envelope.id)
            .bind(envelope.kind)
            .bind(Json(envelope))
            .execute(db),
    )
    .await
    .map(|_| ())
}

/// Takes the relay lock for the rest of the transaction; false when another relay holds it.
pub async fn try_lock_relay(db: impl PgExecutor<'_>) -> Result<bool, sqlx::Error> {
    timed(
        "outbox.lock",
        sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
            .bind(RELAY_LOCK)
            .fetch_one(db),
    )
    .await
}

/// The oldest pending events, in commit-sequence order.
pub async fn next_batch(
    db: impl PgExecutor<'_>,
    limit: i64,
) -> Result<Vec<PendingEvent>, sqlx::Error> {
    timed(
        "outbox.next_batch",
        sqlx::query_as::<_, PendingEvent>(
            "SELECT seq, event_id, kind, envelope::text AS body FROM outbox ORDER BY seq LIMIT $1",
        )
        .bind(limit)
        .fetch_all(db),
    )
    .await
}

pub async fn delete(db: impl PgExecutor<'_>, seqs: &[i64]) -> Result<(), sqlx::Error> {
    timed(
        "outbox.delete",
        sqlx::query("DELETE FROM outbox WHERE seq = ANY($1)")
            .bind(seqs)
            .execute(db),
    )
    .await
    .map(|_| ())
}

/// How many events wait and how old the oldest is, in seconds.
pub async fn backlog(db: impl PgExecutor<'_>) -> Result<(i64, f64), sqlx::Error> {
    timed(
        "outbox.backlog",
        sqlx::query_as::<_, (i64, f64)>(
            "SELECT count(*), COALESCE(EXTRACT(EPOCH FROM now() - min(created_at))::float8, 0)
             FROM outbox",
        )
        .fetch_one(db),
    )
    .await
}
