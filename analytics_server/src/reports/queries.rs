//! The SQL behind each report, and the rows it returns.
//!
//! Written for ClickHouse 18.16 and modern releases alike (no `GROUP BY 1`, no server-side
//! parameters: values are bound client-side with `?`). Counts are of distinct event ids, so a
//! duplicate row not yet collapsed by `ReplacingMergeTree` never inflates a number.

use std::sync::LazyLock;

use chrono::NaiveDate;
use clickhouse::query::Query;
use serde::{Deserialize, Serialize};

use super::{DayRange, Granularity};
use crate::store::Store;

fn date<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<NaiveDate, D::Error> {
    clickhouse::serde::chrono::date::deserialize(deserializer)
}

/// Workspace and day range, the first three `?` of every report query.
fn scoped(store: &Store, sql: &str, workspace_id: i64, range: DayRange) -> Query {
    store
        .query(sql)
        .bind(workspace_id)
        .bind(range.from.to_string())
        .bind(range.to.to_string())
}

const SCOPE: &str = "workspace_id = ? AND event_date BETWEEN toDate(?) AND toDate(?)";

#[derive(Debug, Clone, PartialEq, clickhouse::Row, Deserialize, Serialize)]
pub struct ActiveUsers {
    #[serde(deserialize_with = "date")]
    pub period: NaiveDate,
    pub users: u64,
}

pub fn active_users(
    store: &Store,
    workspace_id: i64,
    range: DayRange,
    granularity: Granularity,
) -> Query {
    let period = match granularity {
        Granularity::Day => "event_date",
        Granularity::Week => "toMonday(event_date)",
    };
    let sql = format!(
        "SELECT {period} AS period, uniqExact(user_id) AS users FROM events \
         WHERE {SCOPE} AND user_id != 0 GROUP BY period ORDER BY period"
    );
    scoped(store, &sql, workspace_id, range)
}

#[derive(Debug, Clone, PartialEq, clickhouse::Row, Deserialize, Serialize)]
pub struct EventsByType {
    pub event_type: String,
    pub source: String,
    pub events: u64,
    pub users: u64,
}

pub fn events_by_type(store: &Store, workspace_id: i64, range: DayRange) -> Query {
    let sql = format!(
        "SELECT event_type, source, uniqExact(event_id) AS events, \
         uniqExactIf(user_id, user_id != 0) AS users FROM events WHERE {SCOPE} \
         GROUP BY event_type, source ORDER BY events DESC, event_type, source"
    );
    scoped(store, &sql, workspace_id, range)
}

#[derive(Debug, Clone, PartialEq, clickhouse::Row, Deserialize, Serialize)]
pub struct MessagesPerDay {
    #[serde(deserialize_with = "date")]
    pub day: NaiveDate,
    pub chat_type: String,
    pub messages: u64,
}

pub fn messages(store: &Store, workspace_id: i64, range: DayRange) -> Query {
    let sql = format!(
        "SELECT event_date AS day, chat_type, uniqExact(event_id) AS messages FROM events \
         WHERE {SCOPE} AND event_type = 'message.created' \
         GROUP BY day, chat_type ORDER BY day, chat_type"
    );
    scoped(store, &sql, workspace_id, range)
}

#[derive(Debug, Clone, PartialEq, clickhouse::Row, Deserialize, Serialize)]
pub struct TopChat {
    pub chat_id: i64,
    pub chat_type: String,
    pub messages: u64,
    pub senders: u64,
}

pub fn top_chats(store: &Store, workspace_id: i64, range: DayRange, limit: u32) -> Query {
    // `any(chat_type) AS chat_type` would be a cyclic alias, hence `kind`.
    let sql = format!(
        "SELECT chat_id, any(chat_type) AS kind, uniqExact(event_id) AS messages, \
         uniqExactIf(user_id, user_id != 0) AS senders FROM events \
         WHERE {SCOPE} AND event_type = 'message.created' AND chat_id != 0 \
         GROUP BY chat_id ORDER BY messages DESC, chat_id LIMIT ?"
    );
    scoped(store, &sql, workspace_id, range).bind(limit)
}

/// Upper bounds (seconds) of the session length distribution; one more bucket holds the rest.
pub const SESSION_BUCKETS: &[u64] = &[60, 300, 900, 1_800, 3_600, 14_400];

#[derive(Debug, Clone, PartialEq, clickhouse::Row, Deserialize)]
pub struct SessionStats {
    pub sessions: u64,
    pub average_seconds: f64,
    /// Median and 90th percentile.
    pub percentiles: Vec<f64>,
    /// Sessions per bucket of [`SESSION_BUCKETS`], then those longer than the last bound.
    pub distribution: Vec<u64>,
}

static SESSIONS_SQL: LazyLock<String> = LazyLock::new(|| {
    let mut buckets = Vec::new();
    let mut lower: Option<u64> = None;
    for upper in SESSION_BUCKETS {
        buckets.push(match lower {
            None => format!("countIf(duration <= {upper})"),
            Some(lower) => format!("countIf(duration > {lower} AND duration <= {upper})"),
        });
        lower = Some(*upper);
    }
    if let Some(last) = lower {
        buckets.push(format!("countIf(duration > {last})"));
    }
    // A session lasts from its first to its last event (millisecond precision).
    format!(
        "SELECT count() AS sessions, avg(duration) AS average_seconds, \
         quantilesExact(0.5, 0.9)(duration) AS percentiles, [{}] AS distribution \
         FROM (SELECT session_id, \
         (max(toUInt64(event_time) * 1000 + event_millis) \
         - min(toUInt64(event_time) * 1000 + event_millis)) / 1000 AS duration \
         FROM events WHERE {SCOPE} AND source = 'http' AND session_id != '' \
         GROUP BY session_id)",
        buckets.join(", ")
    )
});

pub fn sessions(store: &Store, workspace_id: i64, range: DayRange) -> Query {
    scoped(store, &SESSIONS_SQL, workspace_id, range)
}

#[derive(Debug, Clone, PartialEq, clickhouse::Row, Deserialize, Serialize)]
pub struct SearchPerDay {
    #[serde(deserialize_with = "date")]
    pub day: NaiveDate,
    pub searches: u64,
    pub searchers: u64,
    /// Searches whose properties say `"results": 0`.
    pub without_results: u64,
}

pub fn search(store: &Store, workspace_id: i64, range: DayRange) -> Query {
    let sql = format!(
        "SELECT event_date AS day, uniqExact(event_id) AS searches, \
         uniqExactIf(user_id, user_id != 0) AS searchers, \
         uniqExactIf(event_id, visitParamHas(properties, 'results') \
         AND visitParamExtractUInt(properties, 'results') = 0) AS without_results \
         FROM events WHERE {SCOPE} AND event_type = 'search_performed' \
         GROUP BY day ORDER BY day"
    );
    scoped(store, &sql, workspace_id, range)
}

#[derive(Debug, Clone, Copy, PartialEq, clickhouse::Row, Deserialize)]
pub struct BusinessNumbers {
    pub daily_active_users: u64,
    pub weekly_active_users: u64,
    pub messages_today: u64,
}

/// All workspaces: today's and the last seven days' active users, and today's messages.
pub fn business_numbers(store: &Store, today: NaiveDate) -> Query {
    let week_start = today
        .checked_sub_days(chrono::Days::new(6))
        .unwrap_or(today);
    store
        .query(
            "SELECT uniqExactIf(user_id, event_date = toDate(?) AND user_id != 0) AS daily, \
             uniqExactIf(user_id, user_id != 0) AS weekly, \
             uniqExactIf(event_id, event_date = toDate(?) AND event_type = 'message.created') \
             AS messages FROM events WHERE event_date BETWEEN toDate(?) AND toDate(?)",
        )
        .bind(today.to_string())
        .bind(today.to_string())
        .bind(week_start.to_string())
        .bind(today.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_distribution_has_one_bucket_per_bound_and_one_beyond() {
        assert_eq!(
            SESSIONS_SQL.matches("countIf(").count(),
            SESSION_BUCKETS.len() + 1
        );
        assert!(SESSIONS_SQL.contains("countIf(duration > 60 AND duration <= 300)"));
        assert!(SESSIONS_SQL.contains("countIf(duration > 14400)"));
    }
}
