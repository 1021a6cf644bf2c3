//! `BENCH_*` settings of `bench run`, as `./scripts/bench` passes them.

use std::path::PathBuf;

use env_config::{ConfigError, Env};

use crate::launch::Launcher;
use crate::pgbench::Pgbench;
use crate::{Scale, Setup};

/// Where the infrastructure is and where results go.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub setup: Setup,
    /// A superuser URL of the `postgres` database: each scenario creates its own database.
    pub database_url: String,
    pub nats_url: String,
    pub clickhouse_url: String,
    /// The machine-readable results, merged scenario by scenario.
    pub results: PathBuf,
    /// The document whose generated section is rewritten from `results`.
    pub doc: PathBuf,
    pub commit: String,
    /// `release` or `debug`: which binaries were measured.
    pub profile: String,
    /// Before each scenario, wait (up to ten minutes) for the 1-minute load average to drop
    /// below this: other work on the machine moves the absolute figures.
    pub max_load: Option<f64>,
}

fn optional(env: &Env, name: &str) -> Option<String> {
    env.optional_string(name).filter(|value| !value.is_empty())
}

fn words(env: &Env, name: &str) -> Vec<String> {
    env.string(name, "")
        .split([' ', ','])
        .filter(|word| !word.is_empty())
        .map(str::to_owned)
        .collect()
}

impl RunConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        let env = Env::from_process("BENCH");
        let full = Scale::full();
        let scale = Scale {
            http_connections: env.bounded("HTTP_CONNECTIONS", full.http_connections, 1, 4096)?,
            db_connections: env.bounded("DB_CONNECTIONS", full.db_connections, 1, 500)?,
            list_depth: env.bounded("LIST_DEPTH", full.list_depth, 100, 50_000_000)?,
            sse_idle_connections: env.bounded(
                "SSE_IDLE_CONNECTIONS",
                full.sse_idle_connections,
                1,
                1_000_000,
            )?,
            sse_fanout_subscribers: env.bounded(
                "SSE_FANOUT_SUBSCRIBERS",
                full.sse_fanout_subscribers,
                1,
                1_000_000,
            )?,
            fanout_rate: env.bounded("FANOUT_RATE", full.fanout_rate, 1, 100_000)?,
            storm_clients: env.bounded("STORM_CLIENTS", full.storm_clients, 2, 1_000_000)?,
            storm_behind: env.bounded_seconds(
                "STORM_BEHIND_SECS",
                full.storm_behind.as_secs(),
                1,
                3_600,
            )?,
            ingest_connections: env.bounded(
                "INGEST_CONNECTIONS",
                full.ingest_connections,
                1,
                256,
            )?,
            bot_rate: env.bounded("BOT_RATE", full.bot_rate, 1, 1_000_000)?,
            ..full
        };
        let bin_dir = PathBuf::from(env.string("BIN_DIR", "target/release"));
        let bench_exe = match optional(&env, "EXE") {
            Some(path) => PathBuf::from(path),
            None => std::env::current_exe().map_err(|err| ConfigError::Invalid {
                variable: env.variable("EXE"),
                value: String::new(),
                reason: err.to_string(),
            })?,
        };
        let client_cpus = optional(&env, "CLIENT_CPUS");
        let setup = Setup {
            launcher: Launcher {
                bin_dir,
                bench_exe,
                service_cpus: optional(&env, "SERVICE_CPUS"),
                log_dir: PathBuf::from(env.string("LOG_DIR", "target/bench/logs")),
                wrap: words(&env, "WRAP"),
                wrap_only: words(&env, "WRAP_ONLY"),
            },
            pgbench: Pgbench {
                exe: PathBuf::from(env.string("PGBENCH", "/usr/lib/postgresql/15/bin/pgbench")),
                cpus: client_cpus.clone(),
            },
            client_cpus,
            warmup: env.bounded_seconds("WARMUP_SECS", 3, 0, 600)?,
            duration: env.bounded_seconds("DURATION_SECS", 20, 1, 3600)?,
            scale,
            keys: crate::BenchKeys::generate().map_err(|err| ConfigError::Invalid {
                variable: "(generated key pair)".to_owned(),
                value: String::new(),
                reason: err.to_string(),
            })?,
        };
        Ok(Self {
            setup,
            database_url: env.string(
                "DATABASE_URL",
                "postgres://postgres:postgres@127.0.0.1:5432/postgres",
            ),
            nats_url: env.string("NATS_URL", "nats://127.0.0.1:4222"),
            clickhouse_url: env.string("CLICKHOUSE_URL", "http://127.0.0.1:8123"),
            results: PathBuf::from(env.string("RESULTS", "docs/benchmarks.json")),
            doc: PathBuf::from(env.string("DOC", "docs/benchmarks.md")),
            commit: env.string("COMMIT", "unknown"),
            profile: env.string("PROFILE", "release"),
            max_load: match optional(&env, "MAX_LOAD") {
                Some(_) => Some(env.parse("MAX_LOAD", f64::INFINITY)?),
                None => None,
            },
        })
    }
}
