//! The outgoing delivery queue and log (`webhook_deliveries`).

use std::time::Duration;

use sqlx::PgExecutor;

use crate::db::timed;
use crate::models::PageRequest;
use crate::models::webhook::{Delivery, DueDelivery};

/// Queues a delivery of each outbox event of the CTE `deleted` (the relay's statement that deletes
/// the events it published, `repo::outbox::delete_published`) to every active outgoing webhook of
/// the event's chat, so each published event is queued exactly once. A user's own read markers are
/// theirs alone and are not delivered.
macro_rules! enqueue_deleted {
    () => {
        "INSERT INTO webhook_deliveries (webhook_id, event_id, event_kind, body)
         SELECT w.id, d.event_id, d.kind, (d.envelope - 'recipients')::text
         FROM deleted d
         JOIN outgoing_webhooks w
           ON w.chat_id = (d.envelope ->> 'chat_id')::bigint AND w.revoked_at IS NULL
         WHERE d.kind NOT IN ('chat.read', 'thread.read') AND d.created_at >= w.created_at
         ON CONFLICT DO NOTHING"
    };
}
pub(crate) use enqueue_deleted;

/// Claims up to `limit` due deliveries of active webhooks for one attempt each: their next
/// attempt moves to `lease` from now, so that another instance takes one over only if this one
/// never finished it.
pub async fn claim_due(
    db: impl PgExecutor<'_>,
    limit: i64,
    lease: Duration,
) -> Result<Vec<DueDelivery>, sqlx::Error> {
    timed(
        "webhook_deliveries.claim",
        sqlx::query_as::<_, DueDelivery>(
            "WITH due AS (
                 SELECT d.id FROM webhook_deliveries d
                 JOIN outgoing_webhooks w ON w.id = d.webhook_id AND w.revoked_at IS NULL
                 WHERE d.status = 'pending' AND d.next_attempt_at <= now()
                 ORDER BY d.next_attempt_at, d.id
                 LIMIT $1 FOR UPDATE OF d SKIP LOCKED
             )
             UPDATE webhook_deliveries d
             SET next_attempt_at = now() + make_interval(secs => $2)
             FROM due, outgoing_webhooks w
             WHERE d.id = due.id AND w.id = d.webhook_id
             RETURNING d.id, d.webhook_id, d.event_id, d.event_kind, d.body, d.attempts,
                       w.url, w.secret",
        )
        .bind(limit)
        .bind(lease.as_secs_f64())
        .fetch_all(db),
    )
    .await
}

/// What became of one attempt.
pub enum Attempted<'a> {
    Delivered {
        status: i32,
    },
    /// Another attempt follows after `retry_in`.
    Retry {
        status: Option<i32>,
        error: &'a str,
        retry_in: Duration,
    },
    /// Out of attempts.
    Failed {
        status: Option<i32>,
        error: &'a str,
    },
}

pub async fn record_attempt(
    db: impl PgExecutor<'_>,
    id: i64,
    outcome: Attempted<'_>,
) -> Result<(), sqlx::Error> {
    let (status, last_status, error, retry_in) = match outcome {
        Attempted::Delivered { status } => ("delivered", Some(status), None, 0.0),
        Attempted::Retry {
            status,
            error,
            retry_in,
        } => ("pending", status, Some(error), retry_in.as_secs_f64()),
        Attempted::Failed { status, error } => ("failed", status, Some(error), 0.0),
    };
    timed(
        "webhook_deliveries.record_attempt",
        sqlx::query(
            "UPDATE webhook_deliveries
             SET status = $2, attempts = attempts + 1, last_status = $3, last_error = $4,
                 next_attempt_at = now() + make_interval(secs => $5),
                 finished_at = CASE WHEN $2 = 'pending' THEN NULL ELSE now() END
             WHERE id = $1",
        )
        .bind(id)
        .bind(status)
        .bind(last_status)
        .bind(error)
        .bind(retry_in)
        .execute(db),
    )
    .await
    .map(|_| ())
}

/// Ends the pending deliveries of a revoked webhook as failed, so the log and the pending gauge
/// show nothing waiting for it.
pub async fn cancel_pending(db: impl PgExecutor<'_>, webhook: i64) -> Result<u64, sqlx::Error> {
    timed(
        "webhook_deliveries.cancel_pending",
        sqlx::query(
            "UPDATE webhook_deliveries
             SET status = 'failed', last_error = 'the webhook was revoked', finished_at = now()
             WHERE webhook_id = $1 AND status = 'pending'",
        )
        .bind(webhook)
        .execute(db),
    )
    .await
    .map(|done| done.rows_affected())
}

/// A page of a webhook's delivery log, newest first.
pub async fn page(
    db: impl PgExecutor<'_>,
    webhook: i64,
    page: PageRequest,
) -> Result<Vec<Delivery>, sqlx::Error> {
    timed(
        "webhook_deliveries.page",
        sqlx::query_as::<_, Delivery>(
            "SELECT id, event_id, event_kind, status, attempts, last_status, last_error,
                    created_at, finished_at,
                    CASE WHEN status = 'pending' THEN next_attempt_at END AS next_attempt_at
             FROM webhook_deliveries WHERE webhook_id = $1 AND id < $2
             ORDER BY id DESC LIMIT $3",
        )
        .bind(webhook)
        .bind(page.before.unwrap_or(i64::MAX))
        .bind(page.fetch_limit())
        .fetch_all(db),
    )
    .await
}

/// Deliveries waiting for an attempt (the pending gauge).
pub async fn pending(db: impl PgExecutor<'_>) -> Result<i64, sqlx::Error> {
    timed(
        "webhook_deliveries.pending",
        sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'")
            .fetch_one(db),
    )
    .await
}
