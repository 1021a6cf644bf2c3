//! The SQL catalogue on Debian's ClickHouse 18.16 (the modern end: `tools/check_modern_clickhouse.py`).

use std::time::Duration;

use analytics_server::sql_catalogue;
use analytics_server::store::Store;
use chrono::{Days, Utc};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{TestApp, event};

#[tokio::test]
async fn every_statement_runs_on_clickhouse_18_and_returns_the_types_the_service_decodes() {
    let app = TestApp::ready(&[]).await;
    let events = json!({ "events": [event("search_performed", "s", Utc::now())] });
    let (status, _) = app
        .post("/api/events", &events, Some(&app.token(1, 1)))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    app.wait_for_number("the event to be stored", "SELECT count() FROM events", 1)
        .await;

    for statement in sql_catalogue::schema() {
        app.sql(&statement.sql).await;
    }
    let store = Store::new(clickhouse::Client::default(), Duration::from_secs(1));
    let today = Utc::now().date_naive();
    let from = today.checked_sub_days(Days::new(29)).expect("a date");
    for statement in sql_catalogue::queries(&store, from, today) {
        let answer = app
            .sql(&format!("{} FORMAT TSVWithNamesAndTypes", statement.sql))
            .await;
        let types = answer.lines().nth(1).unwrap_or_default();
        assert_eq!(types, statement.types.join("\t"), "{}", statement.name);
    }
}
