//! bot_server's health endpoints and metrics against real and unreachable dependencies.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bot_server::{Application, Config};
use env_config::Env;
use fechatter_events::EventBus;
use serde_json::Value;
use test_support::{Nats, Postgres, assert_metrics_conform, unique_name, wait_until};
use tokio_util::sync::CancellationToken;
use tracing_subscriber::fmt::MakeWriter;

struct RunningBot {
    base: String,
    metrics: String,
    shutdown: CancellationToken,
}

impl Drop for RunningBot {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn spawn_bot(database_url: &str, nats_url: &str) -> RunningBot {
    let bus = EventBus::isolated(&unique_name("bot"));
    let env = Env::from_map(
        "BOT",
        [
            ("BOT_PORT", "0".to_owned()),
            ("BOT_METRICS_PORT", "0".to_owned()),
            ("BOT_HOST", "127.0.0.1".to_owned()),
            ("BOT_DATABASE_URL", database_url.to_owned()),
            ("BOT_NATS_URL", nats_url.to_owned()),
            ("BOT_NATS_STREAM", bus.stream),
            ("BOT_NATS_SUBJECT_PREFIX", bus.subject_prefix),
            (
                "BOT_FECHATTER_API_KEY",
                "a-test-bot-credential-that-is-32-bytes-long!".to_owned(),
            ),
            ("BOT_HEALTH_INTERVAL_MS", "200".to_owned()),
        ],
    );
    let config = Config::from(&env).expect("valid config");
    let app = Application::build(config).await.expect("bot builds");
    let base = format!("http://{}", app.api_addr());
    let metrics = format!("http://{}/metrics", app.metrics_addr());
    let shutdown = CancellationToken::new();
    tokio::spawn(app.run(shutdown.clone()));
    RunningBot {
        base,
        metrics,
        shutdown,
    }
}

async fn get(url: &str) -> (u16, Value) {
    let response = reqwest::get(url).await.expect("request succeeds");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn status_of(url: &str) -> u16 {
    reqwest::get(url)
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

#[tokio::test]
async fn with_its_dependencies_unreachable_the_bot_is_live_but_not_ready_or_healthy() {
    let bot = spawn_bot("postgres://postgres@127.0.0.1:1/none", "nats://127.0.0.1:1").await;
    assert_eq!(get(&format!("{}/live", bot.base)).await.0, 200);
    let (status, _) = get(&format!("{}/ready", bot.base)).await;
    assert_eq!(status, 503);
    let (status, health) = get(&format!("{}/health", bot.base)).await;
    assert_eq!(status, 503);
    assert_eq!(health["status"], "unhealthy");
    for check in ["postgres", "nats"] {
        assert_eq!(health["checks"][check]["status"], "down", "{health}");
        assert_eq!(health["checks"][check]["critical"], true);
        assert!(health["checks"][check]["error"].is_string(), "{health}");
    }
}

#[tokio::test]
async fn the_bot_becomes_healthy_loses_postgres_and_recovers_without_a_restart() {
    let postgres = Postgres::dedicated().await;
    let nats = Nats::shared().await;
    let bot = spawn_bot(&postgres.url("postgres"), &nats.url()).await;
    let ready = format!("{}/ready", bot.base);
    wait_until("the bot to be ready", Duration::from_secs(20), || async {
        status_of(&ready).await == 200
    })
    .await;
    let (status, health) = get(&format!("{}/health", bot.base)).await;
    assert_eq!((status, health["status"].as_str()), (200, Some("healthy")));

    postgres.stop().await;
    wait_until(
        "the bot to report not ready",
        Duration::from_secs(20),
        || async { status_of(&ready).await == 503 },
    )
    .await;
    let scrape = reqwest::get(&bot.metrics)
        .await
        .expect("scrape")
        .text()
        .await
        .expect("text");
    assert!(
        scrape.contains("bot_health_check_status{check=\"postgres\"} 0"),
        "{scrape}"
    );

    postgres.start().await;
    wait_until(
        "the bot to be ready again",
        Duration::from_secs(30),
        || async { status_of(&ready).await == 200 },
    )
    .await;
}

#[tokio::test]
async fn the_bot_metrics_follow_the_contract() {
    let bot = spawn_bot("postgres://postgres@127.0.0.1:1/none", "nats://127.0.0.1:1").await;
    let _ = get(&format!("{}/health", bot.base)).await;
    let _ = get(&format!("{}/no/such/path", bot.base)).await;
    let metrics = bot.metrics.clone();
    tokio::task::spawn_blocking(move || {
        assert_metrics_conform(
            "bot",
            &metrics,
            &[
                "bot_build_info",
                "bot_health_check_status",
                "bot_health_check_duration_seconds",
                "bot_health_requests_total",
                "bot_db_connections_active",
                "process_resident_memory_bytes",
            ],
        );
    })
    .await
    .expect("check runs");
}

/// The log lines of this process's bot (its own modules and the shared event crate), as the
/// service would print them, without time or colour.
#[derive(Clone, Default)]
struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    fn install() -> (Self, tracing::subscriber::DefaultGuard) {
        let logs = Self::default();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter("bot_server=info,fechatter_events=info")
            .with_writer(logs.clone())
            .without_time()
            .with_ansi(false)
            .finish();
        // Thread-local: the test's single-threaded runtime runs the bot's tasks on this thread.
        (logs, tracing::subscriber::set_default(subscriber))
    }

    fn lines(&self) -> Vec<String> {
        let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn at(&self, level: &str) -> Vec<String> {
        self.lines()
            .into_iter()
            .filter(|line| line.trim_start().starts_with(level))
            .collect()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for CapturedLogs {
    type Writer = CapturedLogs;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn a_bot_started_before_fechatter_servers_migrations_says_so_at_info_and_goes_on_once_they_ran()
 {
    let (logs, _guard) = CapturedLogs::install();
    let database = Postgres::shared().await.create_database().await;
    let bot = spawn_bot(&database.url, &Nats::shared().await.url()).await;
    wait_until(
        "the bot to say it waits for the schema",
        Duration::from_secs(20),
        || async {
            logs.at("INFO")
                .iter()
                .any(|line| line.contains("waiting for fechatter_server's migrations"))
        },
    )
    .await;

    // fechatter_server's migrations, in one transaction as a first start would see them. (Giving
    // workspaces their bots needs fechatter_server itself, which owns `users`: tested with the
    // whole stack in `service::provisioning`.)
    let pool = sqlx::PgPool::connect(&database.url).await.expect("connect");
    let mut tx = pool.begin().await.expect("begin");
    for migration in sqlx::migrate!("../fechatter_server/migrations").iter() {
        sqlx::raw_sql(&migration.sql)
            .execute(&mut *tx)
            .await
            .unwrap_or_else(|err| panic!("migration {}: {err}", migration.description));
    }
    tx.commit().await.expect("commit");
    wait_until(
        "the bot to see the schema in place",
        Duration::from_secs(20),
        || async {
            logs.at("INFO")
                .iter()
                .any(|line| line.contains("every workspace has its bot"))
        },
    )
    .await;

    assert!(
        logs.at("INFO")
            .iter()
            .any(|line| line.contains("fechatter_server's schema is in place")),
        "{:#?}",
        logs.lines()
    );
    let complaints: Vec<String> = [logs.at("WARN"), logs.at("ERROR")].concat();
    assert!(
        complaints.is_empty(),
        "an expected wait logged as a problem: {complaints:#?}"
    );
    drop(bot);
}
