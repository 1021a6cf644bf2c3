//! The ClickHouse schema, created idempotently at start-up.
//!
//! Every statement must run on Debian's ClickHouse 18.16 and on the modern compose image: no
//! DateTime64, Map, JSON, Bool or LowCardinality, no table TTL or codecs. Time is a `DateTime('UTC')`
//! plus a milliseconds column; properties are a JSON `String`.

/// The table every event goes to, client and domain alike.
pub const EVENTS_TABLE: &str = "events";

/// `ReplacingMergeTree` keyed by the event id (last in the sorting key) so a duplicate that slips
/// past the writer (a redelivery after a restart) collapses on merge; reports count distinct ids,
/// so they are exact before the merge too.
pub const CREATE_EVENTS: &str = "CREATE TABLE IF NOT EXISTS events (
    event_id UUID,
    event_date Date,
    event_time DateTime('UTC'),
    event_millis UInt16,
    received_at DateTime('UTC'),
    source String,
    event_type String,
    workspace_id Int64,
    user_id Int64,
    chat_id Int64,
    chat_type String,
    client_id String,
    session_id String,
    app_version String,
    os String,
    os_version String,
    arch String,
    locale String,
    device String,
    properties String
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(event_date)
ORDER BY (workspace_id, event_date, event_type, event_id)";

/// The statements that create the schema, in order; each is safe to repeat.
pub const STATEMENTS: &[(&str, &str)] = &[("create_events", CREATE_EVENTS)];

/// The column names of a `CREATE TABLE` statement, in order.
pub fn columns(create: &str) -> Vec<&str> {
    let Some(body) = create
        .split_once('(')
        .and_then(|(_, rest)| rest.rsplit_once(") ENGINE"))
        .map(|(body, _)| body)
    else {
        return Vec::new();
    };
    body.split(",\n")
        .filter_map(|line| line.split_whitespace().next())
        .collect()
}

#[cfg(test)]
mod tests {
    use clickhouse::Row;

    use super::*;
    use crate::events::EventRow;

    #[test]
    fn the_events_table_has_the_row_columns_in_the_row_order() {
        // RowBinary without validation maps fields by position, so the order must agree.
        assert_eq!(columns(CREATE_EVENTS), EventRow::COLUMN_NAMES.to_vec());
    }

    #[test]
    fn no_statement_uses_a_type_that_clickhouse_18_lacks() {
        for (_, sql) in STATEMENTS {
            for missing in [
                "DateTime64",
                "Map(",
                "JSON",
                "Bool",
                "LowCardinality",
                "IPv4",
                "IPv6",
                "Date32",
                "CODEC",
                "TTL",
            ] {
                assert!(!sql.contains(missing), "{missing} in {sql}");
            }
        }
    }
}
