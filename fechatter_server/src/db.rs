//! The thin layer every query goes through: it times each operation into
//! `fechatter_db_query_duration_seconds{operation}` and counts failures in `fechatter_db_errors_total`.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub use postgres_kit::is_unavailable;
use sqlx::{PgPool, Postgres, Transaction};

use crate::observability::metrics::POSTGRES;

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
    POSTGRES.timed(operation, query, |_| true).await
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
