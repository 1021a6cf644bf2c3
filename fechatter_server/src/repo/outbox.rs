use fechatter_events::{Envelope, EventId, EventKind};
use sqlx::types::Json;
use sqlx::{FromRow, PgExecutor};

use crate::db::timed;
use crate::repo::webhook_deliveries::enqueue_deleted;

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

/// What the relay found: the oldest pending events, or another relay holding the lock.
#[derive(Debug)]
pub enum NextBatch {
    /// This transaction holds the relay lock; the oldest pending events, in commit-sequence order
    /// (empty when nothing waits).
    Locked(Vec<PendingEvent>),
    /// Another relay holds the lock.
    Busy,
}

#[derive(FromRow)]
struct BatchRow {
    held: bool,
    seq: Option<i64>,
    event_id: Option<EventId>,
    kind: Option<EventKind>,
    body: Option<String>,
}

/// Takes the relay lock for the rest of the transaction and, if it got it, reads the oldest
/// pending events, in one round trip.
pub async fn lock_next_batch(
    db: impl PgExecutor<'_>,
    limit: i64,
) -> Result<NextBatch, sqlx::Error> {
    let rows = timed(
        "outbox.next_batch",
        sqlx::query_as::<_, BatchRow>(
            "WITH relay AS MATERIALIZED (SELECT pg_try_advisory_xact_lock($1) AS held)
             SELECT relay.held, pending.seq, pending.event_id, pending.kind, pending.body
             FROM relay LEFT JOIN LATERAL (
                 SELECT seq, event_id, kind, envelope::text AS body FROM outbox
                 WHERE relay.held ORDER BY seq LIMIT $2
             ) AS pending ON true
             ORDER BY pending.seq",
        )
        .bind(RELAY_LOCK)
        .bind(limit)
        .fetch_all(db),
    )
    .await?;
    if !rows.first().is_some_and(|row| row.held) {
        return Ok(NextBatch::Busy);
    }
    let events = rows
        .into_iter()
        .filter_map(|row| match (row.seq, row.event_id, row.kind, row.body) {
            (Some(seq), Some(event_id), Some(kind), Some(body)) => Some(PendingEvent {
                seq,
                event_id,
                kind,
                body,
            }),
            _ => None,
        })
        .collect();
    Ok(NextBatch::Locked(events))
}

/// Deletes published events and, in the same statement, queues each for the outgoing webhooks of
/// its chat exactly once (`repo::webhook_deliveries::enqueue_deleted`).
pub async fn delete_published(db: impl PgExecutor<'_>, seqs: &[i64]) -> Result<(), sqlx::Error> {
    timed(
        "outbox.delete",
        sqlx::query(concat!(
            "WITH deleted AS (
                 DELETE FROM outbox WHERE seq = ANY($1)
                 RETURNING event_id, kind, envelope, created_at
             ) ",
            enqueue_deleted!()
        ))
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
