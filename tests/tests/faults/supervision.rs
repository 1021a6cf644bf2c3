//! Every service's server owns its background tasks: one made to panic (through a hook only code in
//! the same process reaches) is logged, restarted, counted in
//! `{service}_background_task_restarts_total{task}` and shown by `/health` (degraded), while the
//! service stays ready. The four services run in this process, on the shared servers.

use std::net::SocketAddr;

use e2e::metrics::{scrape, value};
use env_config::Env;
use fechatter_events::EventBus;
use serde_json::Value;
use service_kit::Supervisor;
use test_support::{ClickHouse, Nats, Postgres, eventually, unique_name, wait_until};
use tokio_util::sync::CancellationToken;

use crate::WAIT;

/// What bot_server presents to fechatter_server for its bots' tokens.
const BOT_API_KEY: &str = "a-supervision-test-bot-credential-of-32-bytes";

struct Running {
    prefix: &'static str,
    series: &'static str,
    task: &'static str,
    api: SocketAddr,
    metrics: SocketAddr,
    supervisor: Supervisor,
}

fn env(prefix: &str, bus: &EventBus, nats: &str, extra: &[(&str, String)]) -> Env {
    let vars = [
        ("HOST", "127.0.0.1".to_owned()),
        ("PORT", "0".to_owned()),
        ("METRICS_PORT", "0".to_owned()),
        ("NATS_URL", nats.to_owned()),
        ("NATS_STREAM", bus.stream.clone()),
        ("NATS_SUBJECT_PREFIX", bus.subject_prefix.clone()),
        ("HEALTH_INTERVAL_MS", "200".to_owned()),
    ]
    .into_iter()
    .chain(extra.iter().map(|(k, v)| (*k, v.clone())))
    .map(|(k, v)| (format!("{prefix}_{k}"), v));
    Env::from_map(prefix, vars)
}

async fn get(url: String) -> (u16, Value) {
    let response = reqwest::get(&url)
        .await
        .unwrap_or_else(|err| panic!("GET {url}: {err}"));
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

async fn wait_ready(api: SocketAddr) {
    wait_until("the service to be ready", WAIT, || async {
        get(format!("http://{api}/ready")).await.0 == 200
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_background_task_made_to_panic_is_restarted_counted_and_shown_by_every_service() {
    let database = Postgres::shared().await.create_database().await;
    let nats = Nats::shared().await.url();
    let clickhouse = ClickHouse::shared().await;
    let analytics_database = clickhouse.create_database().await;
    let files = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
    let bus = EventBus::isolated(&unique_name("supervision"));
    let (private_key, public_key) =
        fechatter_auth::generate_key_pair().unwrap_or_else(|err| panic!("a key pair: {err}"));
    let shutdown = CancellationToken::new();
    let mut running = Vec::new();

    // fechatter_server first: it owns the schema the bot needs.
    let config = fechatter_server::Config::from(&env(
        "FECHATTER",
        &bus,
        &nats,
        &[
            ("DATABASE_URL", database.url.clone()),
            ("FILES_DIR", files.path().display().to_string()),
            ("JWT_PRIVATE_KEY", private_key),
            ("BOT_API_KEY", BOT_API_KEY.to_owned()),
        ],
    ))
    .unwrap_or_else(|err| panic!("{err}"));
    let app = fechatter_server::Application::build(config)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    let fechatter = app.api_addr();
    running.push(Running {
        prefix: "fechatter",
        series: "fechatter_background_task_restarts_total",
        task: "outbox_relay",
        api: app.api_addr(),
        metrics: app.metrics_addr(),
        supervisor: app.supervisor(),
    });
    tokio::spawn(app.run(shutdown.clone()));
    wait_ready(fechatter).await;

    let config = notify_server::Config::from(&env(
        "NOTIFY",
        &bus,
        &nats,
        &[("JWT_PUBLIC_KEY", public_key.clone())],
    ))
    .unwrap_or_else(|err| panic!("{err}"));
    let app = notify_server::Application::build(config)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    running.push(Running {
        prefix: "notify",
        series: "notify_background_task_restarts_total",
        task: "typing",
        api: app.api_addr(),
        metrics: app.metrics_addr(),
        supervisor: app.supervisor(),
    });
    tokio::spawn(app.run(shutdown.clone()));

    let config = bot_server::Config::from(&env(
        "BOT",
        &bus,
        &nats,
        &[
            ("DATABASE_URL", database.url.clone()),
            ("FECHATTER_URL", format!("http://{fechatter}")),
            ("FECHATTER_API_KEY", BOT_API_KEY.to_owned()),
        ],
    ))
    .unwrap_or_else(|err| panic!("{err}"));
    let app = bot_server::Application::build(config)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    running.push(Running {
        prefix: "bot",
        series: "bot_background_task_restarts_total",
        task: "indexing",
        api: app.api_addr(),
        metrics: app.metrics_addr(),
        supervisor: app.supervisor(),
    });
    tokio::spawn(app.run(shutdown.clone()));

    let config = analytics_server::Config::from(&env(
        "ANALYTICS",
        &bus,
        &nats,
        &[
            ("CLICKHOUSE_URL", clickhouse.http_url()),
            ("CLICKHOUSE_DATABASE", analytics_database),
            ("JWT_PUBLIC_KEY", public_key),
        ],
    ))
    .unwrap_or_else(|err| panic!("{err}"));
    let app = analytics_server::Application::build(config)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    running.push(Running {
        prefix: "analytics",
        series: "analytics_background_task_restarts_total",
        task: "writer",
        api: app.api_addr(),
        metrics: app.metrics_addr(),
        supervisor: app.supervisor(),
    });
    tokio::spawn(app.run(shutdown.clone()));

    for service in &running {
        wait_ready(service.api).await;
        let series = service.series;
        let restarts = || async {
            value(
                &scrape(&format!("http://{}/metrics", service.metrics)).await,
                series,
                &[("task", service.task)],
            )
        };
        assert_eq!(restarts().await, Some(0.0), "{series} from the start");
        assert!(service.supervisor.inject_panic(service.task));
        wait_until(&format!("{series} to count the restart"), WAIT, || async {
            restarts().await == Some(1.0)
        })
        .await;
        // `/health` answers from a report up to a second old: wait for one made after the restart
        // (another check, such as a stream reader still subscribing, may also degrade it).
        let (status, health) = eventually(
            &format!("{} /health to show the restart", service.prefix),
            WAIT,
            || async {
                let (status, health) = get(format!("http://{}/health", service.api)).await;
                (health["checks"]["background_tasks"]["status"] == "down")
                    .then_some((status, health))
            },
        )
        .await;
        assert_eq!(
            (status, health["status"].as_str()),
            (200, Some("degraded")),
            "{health}"
        );
        let error = health["checks"]["background_tasks"]["error"]
            .as_str()
            .unwrap_or_default();
        assert!(
            error.contains(&format!("{} restarted 1 time(s)", service.task))
                && error.contains("panicked"),
            "{}: {error}",
            service.prefix
        );
        assert_eq!(
            get(format!("http://{}/ready", service.api)).await.0,
            200,
            "{} stays ready",
            service.prefix
        );
    }
    shutdown.cancel();
}
