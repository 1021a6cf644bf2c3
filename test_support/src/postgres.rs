//! PostgreSQL: one shared server per test binary with a database per test, or a dedicated server.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{ConnectOptions, Connection, Executor};
use tokio::sync::OnceCell;

use crate::commands::run_bounded;
use crate::pg_template::install;
use crate::process::{Instance, Launch};

pub struct Postgres {
    inner: Instance<Pg>,
}

struct Pg {
    data: PathBuf,
    port: u16,
}

impl Launch for Pg {
    const NAME: &'static str = "postgres";
    const PORTS: usize = 1;
    type Config = ();
    const KILL_ON_DROP: bool = false;

    fn new(dir: PathBuf, ports: &[u16], (): &()) -> Self {
        Pg {
            data: dir.join("data"),
            port: ports[0],
        }
    }

    async fn prepare(&self) {
        if self.data.exists() {
            return;
        }
        let data = self.data.clone();
        // initdb (first time on this machine) and cp block for a while; keep the runtime free.
        tokio::task::spawn_blocking(move || install().copy_template(&data))
            .await
            .unwrap_or_else(|e| panic!("preparing a Postgres data directory failed: {e}"));
    }

    fn command(&self) -> Command {
        let mut command = install().command("postgres");
        command
            .arg("-D")
            .arg(&self.data)
            .arg("-p")
            .arg(self.port.to_string());
        for setting in [
            "listen_addresses=127.0.0.1",
            // TCP only: socket paths under a deep temp dir can exceed the 107-byte limit.
            "unix_socket_directories=",
            // Durability is pointless for throw-away data, and fsync dominates test time.
            "fsync=off",
            "synchronous_commit=off",
            "full_page_writes=off",
            // Segments inside the data directory, deleted with it even after SIGKILL.
            "dynamic_shared_memory_type=mmap",
            "max_connections=200",
        ] {
            command.arg("-c").arg(setting);
        }
        command
    }

    async fn ready(&self) -> bool {
        match admin_options(self.port).connect().await {
            Ok(connection) => connection.close().await.is_ok(),
            Err(_) => false,
        }
    }
}

fn admin_options(port: u16) -> PgConnectOptions {
    PgConnectOptions::new()
        .host("127.0.0.1")
        .port(port)
        .username("postgres")
        .database("postgres")
        // PgConnectOptions::new() reads PG* variables; a PGSSLMODE=require must not leak in.
        .ssl_mode(PgSslMode::Disable)
        .disable_statement_logging()
}

impl Postgres {
    /// The server shared by every test of this test binary (and run, under nextest).
    pub async fn shared() -> &'static Postgres {
        static SHARED: OnceCell<Postgres> = OnceCell::const_new();
        SHARED
            .get_or_init(|| async {
                Postgres {
                    inner: Instance::shared(&()).await,
                }
            })
            .await
    }

    /// A server of the caller's own, which it may [`stop`](Self::stop) and [`start`](Self::start);
    /// killed and deleted on drop.
    pub async fn dedicated() -> Postgres {
        Postgres {
            inner: Instance::dedicated(&()).await,
        }
    }

    pub fn port(&self) -> u16 {
        self.inner.ports[0]
    }

    /// `postgres://postgres@127.0.0.1:PORT/DATABASE` (trust authentication, no password).
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port())
    }

    /// A new empty database with a unique name, dropped when the guard is dropped.
    pub async fn create_database(&self) -> TestDatabase {
        let name = crate::unique_name("t");
        let mut connection = tokio::time::timeout(
            Duration::from_secs(10),
            admin_options(self.port()).connect(),
        )
        .await
        .unwrap_or_else(|_| panic!("connecting to Postgres on port {} timed out", self.port()))
        .unwrap_or_else(|e| {
            panic!(
                "cannot connect to Postgres on port {}: {e}\n{}",
                self.port(),
                self.inner.log_tail()
            )
        });
        connection
            .execute(format!(r#"CREATE DATABASE "{name}""#).as_str())
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name} failed: {e}"));
        let _ = connection.close().await;
        TestDatabase {
            url: self.url(&name),
            name,
            port: self.port(),
        }
    }

    /// Stops a dedicated server (fast shutdown); the port and the data stay for [`start`](Self::start).
    pub async fn stop(&self) {
        self.inner.stop().await;
    }

    /// SIGKILLs a dedicated server, like a crash; [`start`](Self::start) brings it back with its
    /// data (Postgres runs crash recovery).
    pub async fn kill(&self) {
        self.inner.kill().await;
    }

    /// Starts a stopped dedicated server again on the same port, with its data.
    pub async fn start(&self) {
        self.inner.start().await;
    }
}

/// A database of one test. Dropped (`WITH (FORCE)`, best effort) when this guard is dropped.
#[derive(Debug)]
pub struct TestDatabase {
    pub name: String,
    pub url: String,
    port: u16,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if crate::scope::keep() {
            return;
        }
        // psql rather than sqlx: Drop cannot await, and the test's runtime may be shutting down.
        let mut psql = Command::new(install().bin.join("psql"));
        psql.args([
            "-X",
            "-q",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-p",
        ])
        .arg(self.port.to_string())
        .arg("-c")
        .arg(format!(
            r#"DROP DATABASE IF EXISTS "{}" WITH (FORCE)"#,
            self.name
        ))
        .env("PGCONNECT_TIMEOUT", "2")
        .env("PGSSLMODE", "disable");
        let log = crate::scope::root().join(format!("drop-{}.log", self.name));
        let _ = run_bounded(&mut psql, &log, Duration::from_secs(10));
        let _ = std::fs::remove_file(&log);
    }
}
