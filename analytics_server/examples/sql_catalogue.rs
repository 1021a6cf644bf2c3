//! Prints every SQL statement analytics_server sends, as JSON, for checking on another ClickHouse:
//! `cargo run -q -p analytics_server --example sql_catalogue | python3 analytics_server/tools/check_modern_clickhouse.py`

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use analytics_server::sql_catalogue;
use analytics_server::store::Store;

fn main() -> ExitCode {
    // Building queries needs a client but never connects.
    let store = Store::new(clickhouse::Client::default(), Duration::from_secs(1));
    let today = chrono::Utc::now().date_naive();
    let from = today - chrono::Days::new(29);
    let catalogue = serde_json::json!({
        "schema": sql_catalogue::schema(),
        "queries": sql_catalogue::queries(&store, from, today),
        "sample_event_id": sql_catalogue::SAMPLE_EVENT_ID,
    });
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{catalogue}") {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}
