//! Every SQL statement the service sends, rendered with sample values, with the column types each
//! query must return (RowBinary decoding is by position and type, unchecked on 18.16).
//!
//! Integration tests run the catalogue on Debian's ClickHouse 18.16; `examples/sql_catalogue.rs`
//! prints it as JSON for `tools/check_modern_clickhouse.py`, which runs it on a modern engine
//! (chdb), so both ends of the compatibility contract are checked with the same text.

use chrono::NaiveDate;
use clickhouse::query::Query;
use serde::Serialize;

use crate::reports::queries;
use crate::reports::{DayRange, Granularity};
use crate::store::{Store, schema};

/// The event id the `existing_ids` sample query asks about.
pub const SAMPLE_EVENT_ID: &str = "0196a0b0-0000-7000-8000-000000000001";

#[derive(Debug, Clone, Serialize)]
pub struct Statement {
    pub name: &'static str,
    pub sql: String,
    /// The ClickHouse types of the result columns; empty for statements without a result.
    pub types: Vec<&'static str>,
}

fn statement(name: &'static str, query: Query, types: &[&'static str]) -> Statement {
    Statement {
        name,
        sql: query.sql_display().to_string(),
        types: types.to_vec(),
    }
}

/// The schema statements, in order.
pub fn schema() -> Vec<Statement> {
    schema::STATEMENTS
        .iter()
        .map(|(name, sql)| Statement {
            name,
            sql: (*sql).to_owned(),
            types: Vec::new(),
        })
        .collect()
}

/// Every query, bound to sample values: workspace 1 and the days `from..=to`.
pub fn queries(store: &Store, from: NaiveDate, to: NaiveDate) -> Vec<Statement> {
    let range = DayRange { from, to };
    const DATE_COUNT: &[&str] = &["Date", "UInt64"];
    vec![
        statement(
            "active_users_daily",
            queries::active_users(store, 1, range, Granularity::Day),
            DATE_COUNT,
        ),
        statement(
            "active_users_weekly",
            queries::active_users(store, 1, range, Granularity::Week),
            DATE_COUNT,
        ),
        statement(
            "events_by_type",
            queries::events_by_type(store, 1, range),
            &["String", "String", "UInt64", "UInt64"],
        ),
        statement(
            "messages",
            queries::messages(store, 1, range),
            &["Date", "String", "UInt64"],
        ),
        statement(
            "top_chats",
            queries::top_chats(store, 1, range, 10),
            &["Int64", "String", "UInt64", "UInt64"],
        ),
        statement(
            "sessions",
            queries::sessions(store, 1, range),
            &["UInt64", "Float64", "Array(Float64)", "Array(UInt64)"],
        ),
        statement(
            "search",
            queries::search(store, 1, range),
            &["Date", "UInt64", "UInt64", "UInt64"],
        ),
        statement(
            "business_gauges",
            queries::business_numbers(store, to),
            &["UInt64", "UInt64", "UInt64"],
        ),
        statement(
            "existing_ids",
            store.existing_ids_query(vec![to.to_string()], vec![SAMPLE_EVENT_ID.to_owned()]),
            &["String"],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn every_bound_value_is_rendered_into_the_sql() {
        let store = Store::new(clickhouse::Client::default(), Duration::from_secs(1));
        let day = NaiveDate::from_ymd_opt(2026, 5, 1).unwrap_or_default();
        for statement in queries(&store, day, day) {
            assert!(!statement.sql.contains('?'), "{}", statement.sql);
            assert!(!statement.types.is_empty());
        }
    }
}
