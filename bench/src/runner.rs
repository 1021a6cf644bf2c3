//! `bench run`: each named scenario against the infrastructure of [`RunConfig`], its result
//! merged into the results file and the document re-rendered after every scenario.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection};

use crate::config::RunConfig;
use crate::markdown;
use crate::report::{RunInfo, ScenarioResult};
use crate::scenarios::{
    self, bot_index, ingest, list, metrics, reconnect_storm, send, sse_fanout, sse_idle,
};

fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

fn cpu_model() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    // Not available_parallelism: this process may be pinned to fewer CPUs than the machine has.
    let cores = std::fs::read_to_string("/proc/cpuinfo").map_or(0, |text| {
        text.lines()
            .filter(|line| line.starts_with("processor"))
            .count()
    });
    let online = std::fs::read_to_string("/sys/devices/system/cpu/online").unwrap_or_default();
    format!("{model}, {cores} CPUs (online: {})", online.trim())
}

async fn command_version(program: &str, arg: &str) -> String {
    tokio::process::Command::new(program)
        .arg(arg)
        .output()
        .await
        .ok()
        .map(|out| {
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_owned()
        })
        .filter(|text| !text.is_empty())
        .unwrap_or_else(|| format!("{program}: unknown"))
}

/// Versions of everything the figures depend on.
pub async fn tools(config: &RunConfig) -> String {
    let postgres = async {
        let mut conn = PgConnection::connect(&config.database_url).await.ok()?;
        sqlx::query_scalar::<_, String>("SHOW server_version")
            .fetch_one(&mut conn)
            .await
            .ok()
    };
    let clickhouse = async {
        reqwest::Client::new()
            .post(&config.clickhouse_url)
            .body("SELECT version()")
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()
    };
    let nats = async {
        let client = async_nats::connect(&config.nats_url).await.ok()?;
        Some(client.server_info().version)
    };
    let (postgres, clickhouse, nats) = tokio::join!(postgres, clickhouse, nats);
    format!(
        "{}, PostgreSQL {}, {}, NATS {}, ClickHouse {}",
        command_version("rustc", "--version").await,
        postgres.unwrap_or_else(|| "unknown".to_owned()),
        config.setup.pgbench.version().await,
        nats.unwrap_or_else(|| "unknown".to_owned()),
        clickhouse.map_or_else(|| "unknown".to_owned(), |v| v.trim().to_owned()),
    )
}

fn pinning(config: &RunConfig) -> String {
    match (
        &config.setup.client_cpus,
        &config.setup.launcher.service_cpus,
    ) {
        (None, None) => "none".to_owned(),
        (client, service) => format!(
            "load generators (bench, pgbench) on CPU {}, measured process on CPU {}, \
             Postgres/NATS/ClickHouse unpinned",
            client.as_deref().unwrap_or("any"),
            service.as_deref().unwrap_or("any")
        ),
    }
}

/// A fresh database on the benchmark's Postgres, for one scenario.
async fn database(config: &RunConfig, name: &str) -> anyhow::Result<String> {
    let mut admin = PgConnection::connect(&config.database_url)
        .await
        .context("BENCH_DATABASE_URL")?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&mut admin)
        .await?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await?;
    let mut url = url::Url::parse(&config.database_url)?;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}

async fn drop_database(config: &RunConfig, name: &str) -> anyhow::Result<()> {
    // Let the service's pool close its connections first.
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(&config.database_url)
        .await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&pool)
        .await?;
    Ok(())
}

pub async fn scenario(config: &RunConfig, name: &str) -> anyhow::Result<ScenarioResult> {
    let setup = &config.setup;
    match name {
        "send" | "list" | "bot-index" => {
            let db = scenarios::unique(&format!("bench_{}", name.replace('-', "_")));
            let url = database(config, &db).await?;
            let result = match name {
                "send" => send::run(setup, &url, &config.nats_url).await,
                "list" => list::run(setup, &url, &config.nats_url).await,
                _ => bot_index::run(setup, &url, &config.nats_url).await,
            };
            drop_database(config, &db).await?;
            result
        }
        "sse-idle" => sse_idle::run(setup, &config.nats_url).await,
        "sse-fanout" => sse_fanout::run(setup, &config.nats_url).await,
        "reconnect-storm" => reconnect_storm::run(setup, &config.nats_url).await,
        "ingest" => ingest::run(setup, &config.clickhouse_url, &config.nats_url).await,
        "metrics" => metrics::run(setup).await,
        other => anyhow::bail!(
            "unknown scenario {other:?}; one of {:?} or all",
            scenarios::ALL
        ),
    }
}

fn read_results(path: &Path) -> anyhow::Result<Vec<ScenarioResult>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(serde_json::from_str(&text).with_context(|| format!("{}", path.display()))?),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(err) => Err(err.into()),
    }
}

/// Rewrites the document's generated part from the results file.
pub fn render(results: &Path, doc: &Path) -> anyhow::Result<()> {
    let results = read_results(results)?;
    let text = std::fs::read_to_string(doc).unwrap_or_default();
    std::fs::write(doc, markdown::splice(&text, &markdown::render(&results)))
        .with_context(|| format!("writing {}", doc.display()))?;
    Ok(())
}

/// Waits, bounded, for a quieter machine.
async fn quiet(max_load: f64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(600);
    while load_average() >= max_load && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    if load_average() >= max_load {
        eprintln!(
            "==> load average still {:.2}: measuring anyway",
            load_average()
        );
    }
}

/// Runs the scenarios in turn; one that fails is reported and the others still run.
pub async fn run(config: &RunConfig, names: &[String]) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.setup.launcher.log_dir)?;
    let tools = tools(config).await;
    let mut failed = Vec::new();
    for name in names {
        if let Some(max_load) = config.max_load {
            quiet(max_load).await;
        }
        eprintln!("==> scenario {name}");
        let load_before = load_average();
        let started = std::time::Instant::now();
        match scenario(config, name).await {
            Ok(mut result) => {
                result.run = RunInfo {
                    commit: config.commit.clone(),
                    date: Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
                    cpu: cpu_model(),
                    load_before,
                    load_after: load_average(),
                    profile: config.profile.clone(),
                    pinning: pinning(config),
                    tools: tools.clone(),
                };
                let mut store = read_results(&config.results)?;
                markdown::merge(&mut store, result);
                std::fs::write(&config.results, serde_json::to_string_pretty(&store)?)?;
                render(&config.results, &config.doc)?;
                eprintln!(
                    "==> {name}: done in {:.0} s",
                    started.elapsed().as_secs_f64()
                );
            }
            Err(err) => {
                eprintln!("==> {name}: FAILED: {err:#}");
                failed.push(name.clone());
            }
        }
        // Let the machine settle between scenarios (sockets in TIME_WAIT, Postgres checkpoints).
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    anyhow::ensure!(failed.is_empty(), "scenarios failed: {failed:?}");
    Ok(())
}
