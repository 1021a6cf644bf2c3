//! The part of fechatter_server's schema the bot uses. fechatter_server owns the schema and creates
//! it with its migrations at start-up; the bot only waits for it.

use sqlx::PgExecutor;

use crate::db::timed;

/// The tables the bot reads and writes. The last two come from fechatter_server's newest migration
/// the bot depends on, so all of them exist once those migrations have run.
pub const REQUIRED_TABLES: &[&str] = &[
    "workspaces",
    "users",
    "sessions",
    "search_documents",
    "bot_processed_events",
];

/// The tables of [`REQUIRED_TABLES`] that do not exist yet.
pub async fn missing_tables(db: impl PgExecutor<'_>) -> Result<Vec<String>, sqlx::Error> {
    timed(
        "schema.missing_tables",
        sqlx::query_scalar(
            "SELECT t FROM unnest($1::text[]) AS t WHERE to_regclass(t) IS NULL ORDER BY t",
        )
        .bind(REQUIRED_TABLES)
        .fetch_all(db),
    )
    .await
}
