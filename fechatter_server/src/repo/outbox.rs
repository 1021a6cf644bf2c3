use fechatter_events::{Envelope, EventId, EventKind};
use sqlx::types::Json;
use sqlx::{FromRow, PgExecutor};

use crate::db::timed;

/// The advisory-lock key held by the one relay that publishes at a time, across instances.
pub const RELAY_LOCK: i64 = 0x6665_6368_6174_7472; // "fechattr" in ASCII
/// The first key of a chat's order lock (the second is the chat id). Two-key advisory locks never
/// meet the one-key [`RELAY_LOCK`].
///
/// A send takes it before its message id is drawn (`repo::sends`), and every event of the chat
/// before its outbox sequence is drawn ([`insert`]), until the transaction ends: the transactions
/// that write a chat's events then commit one after the other, in the order they drew their
/// sequences (message ids, outbox sequence), so the relay, which publishes in sequence order,
/// publishes each chat's events in commit order. Without it a transaction could draw sequence N,
/// commit after N+1, and N+1 be published (or listed) first.
pub const CHAT_ORDER_LOCK: i32 = 0x6368_6174; // "chat" in ASCII

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
///
/// A chat's event takes the chat's order lock (see [`CHAT_ORDER_LOCK`]) in the same statement,
/// before its sequence is drawn.
pub async fn insert(db: impl PgExecutor<'_>, envelope: &Envelope) -> Result<(), sqlx::Error> {
    timed(
        "outbox.insert",
        sqlx::query(
            "INSERT INTO outbox (event_id, kind, envelope)
             SELECT $1, $2, $3
             FROM (SELECT CASE WHEN $4::bigint IS NULL THEN NULL
                               ELSE pg_advisory_xact_lock($5, ($4 % 2147483647)::int) END) AS ordered",
        )
        .bind(envelope.id)
        .bind(envelope.kind)
        .bind(Json(envelope))
        .bind(envelope.chat_id)
        .bind(CHAT_ORDER_LOCK)
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
