//! Every scenario run for a few seconds at a tiny scale, against `test_support`'s infrastructure
//! and the debug service binaries (`cargo build --workspace --bins` first, as `./scripts/test`
//! does): proves each still works, never measures anything.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bench::launch::Launcher;
use bench::pgbench::Pgbench;
use bench::report::ScenarioResult;
use bench::scenarios::{
    bot_index, ingest, list, metrics, reconnect_storm, send, sse_fanout, sse_idle,
};
use bench::{Scale, Setup};
use test_support::{ClickHouse, Nats, Postgres};

/// Each scenario finishes well within this at the smoke scale.
const LIMIT: Duration = Duration::from_secs(90);

/// The directory of the debug service binaries, beside this test binary's `deps/`.
fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .expect("target directory")
}

fn pgbench() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dirs| {
            dirs.flatten()
                .map(|dir| dir.path().join("bin/pgbench"))
                .filter(|path| path.exists())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.pop().unwrap_or_else(|| PathBuf::from("pgbench"))
}

fn setup(logs: &Path) -> Setup {
    Setup {
        launcher: Launcher {
            bin_dir: bin_dir(),
            bench_exe: PathBuf::from(env!("CARGO_BIN_EXE_bench")),
            service_cpus: None,
            log_dir: logs.to_path_buf(),
            wrap: Vec::new(),
            wrap_only: Vec::new(),
        },
        pgbench: Pgbench {
            exe: pgbench(),
            cpus: None,
        },
        client_cpus: None,
        warmup: Duration::from_millis(500),
        duration: Duration::from_secs(2),
        scale: Scale::smoke(),
        keys: bench::BenchKeys::generate().expect("a key pair"),
    }
}

async fn within<F>(what: &str, run: F) -> ScenarioResult
where
    F: Future<Output = anyhow::Result<ScenarioResult>>,
{
    tokio::time::timeout(LIMIT, run)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {LIMIT:?}"))
        .unwrap_or_else(|err| panic!("{what} failed: {err:#}"))
}

/// Every row did some work, without an error, and every check was evaluated.
fn assert_worked(result: &ScenarioResult, rows: usize) {
    assert_eq!(result.rows.len(), rows, "{result:#?}");
    for row in &result.rows {
        assert!(row.ops > 0 && row.throughput > 0.0, "no work: {row:#?}");
        assert_eq!(row.errors, 0, "errors: {row:#?}");
    }
    assert!(result.checks.iter().all(|check| check.met.is_some()));
    assert!(
        result.rows.iter().any(|row| row.peer),
        "a peer was measured"
    );
}

#[tokio::test]
async fn sending_messages_is_measured_against_pgbench_without_errors() {
    let logs = tempfile::tempdir().expect("log dir");
    let db = Postgres::shared().await.create_database().await;
    let nats = Nats::shared().await;
    let result = within("send", send::run(&setup(logs.path()), &db.url, &nats.url())).await;
    assert_worked(&result, 4);
    assert!(result.rows[0].cpu_us_per_op.is_some_and(|cpu| cpu > 0.0));
}

#[tokio::test]
async fn listing_messages_is_measured_at_the_first_page_and_in_depth() {
    let logs = tempfile::tempdir().expect("log dir");
    let db = Postgres::shared().await.create_database().await;
    let nats = Nats::shared().await;
    let result = within("list", list::run(&setup(logs.path()), &db.url, &nats.url())).await;
    assert_worked(&result, 7);
    assert!(
        result
            .notes
            .iter()
            .any(|note| note.contains("generic plan")),
        "{:?}",
        result.notes
    );
}

#[tokio::test]
async fn idle_sse_connections_are_held_by_notify_and_by_the_bare_hub() {
    let logs = tempfile::tempdir().expect("log dir");
    let nats = Nats::shared().await;
    let setup = setup(logs.path());
    let result = within("sse-idle", sse_idle::run(&setup, &nats.url())).await;
    assert_worked(&result, 2);
    for row in &result.rows {
        assert_eq!(row.ops, setup.scale.sse_idle_connections as u64);
    }
}

#[tokio::test]
async fn fan_out_delivers_every_event_to_every_subscriber_of_one_and_two_notify_instances_and_the_hub()
 {
    let logs = tempfile::tempdir().expect("log dir");
    let nats = Nats::shared().await;
    let setup = setup(logs.path());
    let result = within("sse-fanout", sse_fanout::run(&setup, &nats.url())).await;
    assert_worked(&result, 4);
    let events = 2 * setup.scale.fanout_rate as u64;
    for row in &result.rows {
        assert_eq!(
            row.ops,
            events * setup.scale.sse_fanout_subscribers as u64,
            "{row:#?}"
        );
    }
}

#[tokio::test]
async fn a_reconnect_storm_catches_every_resumed_client_up_with_nothing_lost() {
    let logs = tempfile::tempdir().expect("log dir");
    let nats = Nats::shared().await;
    let setup = setup(logs.path());
    let result = within("reconnect-storm", reconnect_storm::run(&setup, &nats.url())).await;
    assert_worked(&result, 2);
    assert_eq!(
        result.rows[0].ops,
        setup.scale.storm_clients as u64 / 2,
        "{result:#?}"
    );
    assert!(
        result
            .checks
            .iter()
            .any(|c| c.target.starts_with("lost") && c.met == Some(true)),
        "{:?}",
        result.checks
    );
}

#[tokio::test]
async fn analytics_ingest_stores_every_accepted_event_like_the_raw_insert() {
    let logs = tempfile::tempdir().expect("log dir");
    let clickhouse = ClickHouse::shared().await;
    let nats = Nats::shared().await;
    let result = within(
        "ingest",
        ingest::run(&setup(logs.path()), &clickhouse.http_url(), &nats.url()),
    )
    .await;
    assert_worked(&result, 2);
    assert!(
        result
            .checks
            .iter()
            .any(|c| c.target.starts_with("lost") && c.met == Some(true))
    );
}

#[tokio::test]
async fn bot_indexing_stores_every_published_message_once_like_the_raw_insert() {
    let logs = tempfile::tempdir().expect("log dir");
    let db = Postgres::shared().await.create_database().await;
    let nats = Nats::shared().await;
    let result = within(
        "bot-index",
        bot_index::run(&setup(logs.path()), &db.url, &nats.url()),
    )
    .await;
    assert_worked(&result, 5);
    assert!(result.rows[0].latency.is_some_and(|lag| lag.samples > 0));
    for target in ["lost", "handled twice"] {
        assert!(
            result
                .checks
                .iter()
                .any(|c| c.target.starts_with(target) && c.met == Some(true)),
            "{target}: {:?}",
            result.checks
        );
    }
}

#[tokio::test]
async fn the_metrics_layer_is_measured_against_the_same_service_without_it() {
    let logs = tempfile::tempdir().expect("log dir");
    let result = within("metrics", metrics::run(&setup(logs.path()))).await;
    assert_worked(&result, 2);
    assert!(result.rows.iter().all(|row| row.cpu_us_per_op.is_some()));
}
