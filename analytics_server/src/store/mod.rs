//! ClickHouse access: the schema, inserts and timed queries. Every call has a deadline, so a hung
//! server looks like a down one instead of stalling the writer.

pub mod schema;

use std::collections::HashSet;
use std::future::Future;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use clickhouse::query::Query;
use clickhouse::{RowOwned, RowRead};
use uuid::Uuid;

use crate::events::EventRow;
use crate::observability::metrics::ClickHouseMetrics;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("clickhouse: {0}")]
    ClickHouse(#[from] clickhouse::error::Error),
    #[error("clickhouse did not answer within {0:?}")]
    Timeout(Duration),
}

/// How many ids one "which of these exist?" query asks about, keeping the SQL text well under
/// ClickHouse's default `max_query_size` (256 KiB).
const IDS_PER_LOOKUP: usize = 2_000;

/// Whether ClickHouse answers a trivial query within `within`: the health check's and the
/// consumers' gate's probe, bounded so that a hung server counts as down.
pub async fn ping(client: &clickhouse::Client, within: Duration) -> Result<(), String> {
    match tokio::time::timeout(within, client.query("SELECT 1").execute()).await {
        Ok(outcome) => outcome.map_err(|err| err.to_string()),
        Err(_) => Err(format!("no answer within {within:?}")),
    }
}

#[derive(Clone)]
pub struct Store {
    client: clickhouse::Client,
    timeout: Duration,
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct IdRow {
    id: String,
}

impl Store {
    /// `client` must be bound to the analytics database.
    pub fn new(client: clickhouse::Client, timeout: Duration) -> Self {
        Self { client, timeout }
    }

    pub fn query(&self, sql: &str) -> Query {
        self.client.query(sql)
    }

    async fn bounded<T>(
        &self,
        work: impl Future<Output = Result<T, clickhouse::error::Error>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, work).await {
            Ok(outcome) => Ok(outcome?),
            Err(_) => Err(StoreError::Timeout(self.timeout)),
        }
    }

    /// Creates the tables (the database exists by then).
    pub async fn ensure_schema(&self) -> Result<(), StoreError> {
        for (name, sql) in schema::STATEMENTS {
            let outcome = self.bounded(self.client.query(sql).execute()).await;
            if let Err(err) = &outcome {
                ClickHouseMetrics::failed("schema");
                tracing::warn!(statement = name, error = %err, "schema statement failed");
            }
            outcome?;
        }
        Ok(())
    }

    /// Writes `rows` in one RowBinary insert.
    #[tracing::instrument(skip_all, fields(rows = rows.len()))]
    pub async fn insert(&self, rows: &[&EventRow]) -> Result<(), StoreError> {
        let started = Instant::now();
        let outcome = self
            .bounded(async {
                let mut insert = self.client.insert::<EventRow>(schema::EVENTS_TABLE).await?;
                for row in rows {
                    insert.write(row).await?;
                }
                insert.end().await
            })
            .await;
        ClickHouseMetrics::insert_attempted(started.elapsed(), outcome.is_ok());
        if outcome.is_ok() {
            ClickHouseMetrics::inserted(rows.len());
        }
        outcome
    }

    /// Which of `rows` are already stored: asked before retrying an insert whose outcome is
    /// unknown (the server may have written it before the connection broke).
    #[tracing::instrument(skip_all, fields(rows = rows.len()))]
    pub async fn existing_ids(&self, rows: &[&EventRow]) -> Result<HashSet<Uuid>, StoreError> {
        let mut found = HashSet::new();
        for chunk in rows.chunks(IDS_PER_LOOKUP) {
            let dates: HashSet<NaiveDate> = chunk.iter().map(|row| row.event_date).collect();
            let dates: Vec<String> = dates.iter().map(NaiveDate::to_string).collect();
            let ids: Vec<String> = chunk.iter().map(|row| row.event_id.to_string()).collect();
            let query = self.existing_ids_query(dates, ids);
            let present: Vec<IdRow> = self.fetch_all("existing_ids", query).await?;
            found.extend(
                present
                    .iter()
                    .filter_map(|row| Uuid::parse_str(&row.id).ok()),
            );
        }
        Ok(found)
    }

    /// Which of `ids` (UUID texts) are stored on `dates` (`YYYY-MM-DD`); the date narrows the
    /// search to a few partitions.
    pub fn existing_ids_query(&self, dates: Vec<String>, ids: Vec<String>) -> Query {
        // One `?` per value: a bound Vec renders as an array literal, which 18.16's IN refuses.
        let placeholders = |n: usize| vec!["?"; n].join(", ");
        let sql = format!(
            "SELECT toString(event_id) AS id FROM events \
             WHERE event_date IN ({}) AND toString(event_id) IN ({})",
            placeholders(dates.len()),
            placeholders(ids.len())
        );
        let mut query = self.query(&sql);
        for value in dates.into_iter().chain(ids) {
            query = query.bind(value);
        }
        query
    }

    /// Runs `query`, timed as `name` in `analytics_clickhouse_query_duration_seconds`.
    pub async fn fetch_all<T>(&self, name: &'static str, query: Query) -> Result<Vec<T>, StoreError>
    where
        T: RowOwned + RowRead,
    {
        let started = Instant::now();
        let outcome = self.bounded(query.fetch_all::<T>()).await;
        ClickHouseMetrics::queried(name, started.elapsed(), outcome.is_ok());
        if let Err(err) = &outcome {
            tracing::warn!(query = name, error = %err, "clickhouse query failed");
        }
        outcome
    }

    /// Runs a statement that returns nothing, e.g. the health probe.
    pub async fn execute(&self, sql: &str) -> Result<(), StoreError> {
        self.bounded(self.client.query(sql).execute()).await
    }
}
