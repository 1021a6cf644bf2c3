//! bot_server's health endpoints and metrics against real and unreachable dependencies.

use std::time::Duration;

use bot_server::{Application, Config};
use env_config::Env;
use fechatter_events::EventBus;
use serde_json::Value;
use test_support::{CapturedLogs, Nats, Postgres, assert_metrics_conform, unique_name, wait_until};
use tokio_util::sync::CancellationToken;

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

#[tokio::test]
async fn a_bot_started_before_fechatter_servers_migrations_says_so_at_info_and_goes_on_once_they_ran()
 {
    // The bot's own modules and the shared event crate, as the service would print them.
    let (logs, _guard) = CapturedLogs::install("bot_server=info,fechatter_events=info");
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
