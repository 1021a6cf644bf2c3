//! One row of the `events` table, written with RowBinary.
//!
//! The column order here IS the wire order (validation is off for ClickHouse 18.16), so the DDL in
//! `store::schema` lists the same columns; a test checks they agree.

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Ids are 0 when unknown (an anonymous client, an event with no chat): ClickHouse 18.16 cannot
/// put a Nullable column in a sorting key, and 0 is never a real id.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Serialize, Deserialize)]
pub struct EventRow {
    /// The idempotency key: the client's `event_id` or the domain envelope's id.
    #[serde(with = "clickhouse::serde::uuid")]
    pub event_id: Uuid,
    /// The UTC day of `event_time`, the partition and primary-key prefix.
    #[serde(with = "clickhouse::serde::chrono::date")]
    pub event_date: NaiveDate,
    /// When it happened, to the second (DateTime64 does not exist on 18.16)...
    #[serde(with = "clickhouse::serde::chrono::datetime")]
    pub event_time: DateTime<Utc>,
    /// ...and the milliseconds within that second.
    pub event_millis: u16,
    #[serde(with = "clickhouse::serde::chrono::datetime")]
    pub received_at: DateTime<Utc>,
    /// `http` or `nats`.
    pub source: String,
    pub event_type: String,
    pub workspace_id: i64,
    pub user_id: i64,
    pub chat_id: i64,
    pub chat_type: String,
    pub client_id: String,
    pub session_id: String,
    pub app_version: String,
    pub os: String,
    pub os_version: String,
    pub arch: String,
    pub locale: String,
    pub device: String,
    /// Free-form properties as a JSON object (read with `visitParamExtract*`).
    pub properties: String,
}

/// The date, second and millisecond columns of an instant.
pub fn split_time(at: DateTime<Utc>) -> (NaiveDate, DateTime<Utc>, u16) {
    let millis = (at.nanosecond() / 1_000_000).min(999) as u16;
    let second = at.with_nanosecond(0).unwrap_or(at);
    (at.date_naive(), second, millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instant_splits_into_day_second_and_millis() {
        let at = DateTime::parse_from_rfc3339("2026-03-01T23:59:59.987654Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        let (date, second, millis) = split_time(at);
        assert_eq!(date.to_string(), "2026-03-01");
        assert_eq!(second.to_rfc3339(), "2026-03-01T23:59:59+00:00");
        assert_eq!(millis, 987);
    }
}
