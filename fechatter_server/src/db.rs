//! The thin layer every query goes through: it times each operation into
//! `fechatter_db_query_duration_seconds{operation}` and counts failures in `fechatter_db_errors_total`.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use sqlx::{PgPool, Postgres, Transaction};

use crate::observability::metrics::DbMetrics;

/// Whether the schema migrations have been applied since start-up: background work that reads
/// tables waits for it.
#[derive(Debug, Clone, Default)]
pub struct Migrated(Arc<AtomicBool>);

impl Migrated {
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    pub fn set(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Runs one database operation, recording its duration and outcome under `operation` (a fixed name
/// such as `messages.insert`).
pub async fn timed<T, F>(operation: &'static str, query: F) -> Result<T, sqlx::Error>
where
    F: Future<Output = Result<T, sqlx::Error>>,
{
    let started = Instant::now();
    let result = query.await;
    DbMetrics::query(operation, started.elapsed(), result.is_ok());
    result
}

/// Begins a transaction of a request (`operation="transaction.begin"`).
pub async fn begin(pool: &PgPool) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    begin_as(pool, "transaction.begin").await
}

/// Begins a transaction of background work under an operation name of its own, so
/// `transaction.begin` counts what requests do.
pub async fn begin_as(
    pool: &PgPool,
    operation: &'static str,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    timed(operation, pool.begin()).await
}

pub async fn commit(tx: Transaction<'static, Postgres>) -> Result<(), sqlx::Error> {
    timed("transaction.commit", tx.commit()).await
}

/// The constraint a unique violation hit, if `err` is one.
pub fn unique_violation(err: &sqlx::Error) -> Option<&str> {
    match err {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            Some(db.constraint().unwrap_or(""))
        }
        _ => None,
    }
}

/// Whether `err` means Postgres cannot be reached or is refusing work right now (as opposed to a bad
/// query), so the client gets a 503 and may retry.
pub fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        // 08: connection exception; 57P01-03: shutting down / cannot connect now; 53300: too many
        // connections.
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}
