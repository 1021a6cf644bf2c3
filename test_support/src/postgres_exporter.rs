//! `prometheus-postgres-exporter`: Postgres's own series (`pg_*`) for a test's Prometheus.
//! Always dedicated: it watches one Postgres, usually a dedicated one.

use std::path::PathBuf;
use std::process::Command;

use crate::commands::find_any_binary;
use crate::process::{Instance, Launch};

#[derive(Clone, Debug)]
pub struct PostgresExporterConfig {
    /// The server to watch, e.g. `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub url: String,
    /// A file of extra queries (`--extend.query-path`), e.g. the repository's.
    pub queries: Option<PathBuf>,
}

pub struct PostgresExporter {
    inner: Instance<Exporter>,
}

struct Exporter {
    port: u16,
    config: PostgresExporterConfig,
}

impl Launch for Exporter {
    const NAME: &'static str = "postgres_exporter";
    const PORTS: usize = 1;
    type Config = PostgresExporterConfig;

    fn new(_dir: PathBuf, ports: &[u16], config: &PostgresExporterConfig) -> Self {
        Exporter {
            port: ports[0],
            config: config.clone(),
        }
    }

    async fn prepare(&self) {}

    fn command(&self) -> Command {
        let binary = find_any_binary(
            &["prometheus-postgres-exporter", "postgres_exporter"],
            "prometheus-postgres-exporter",
        );
        let mut command = Command::new(binary);
        let separator = if self.config.url.contains('?') {
            '&'
        } else {
            '?'
        };
        command
            .env(
                "DATA_SOURCE_NAME",
                format!("{}{separator}sslmode=disable", self.config.url),
            )
            .arg(format!("--web.listen-address=127.0.0.1:{}", self.port));
        if let Some(queries) = &self.config.queries {
            let queries = queries
                .canonicalize()
                .unwrap_or_else(|e| panic!("queries file {}: {e}", queries.display()));
            command.arg(format!("--extend.query-path={}", queries.display()));
        }
        command
    }

    async fn ready(&self) -> bool {
        crate::http::get_ok(&format!("http://127.0.0.1:{}/metrics", self.port))
            .await
            .is_some()
    }
}

impl PostgresExporter {
    /// Starts an exporter of the caller's own; killed on drop.
    pub async fn start(config: PostgresExporterConfig) -> PostgresExporter {
        PostgresExporter {
            inner: Instance::dedicated(&config).await,
        }
    }

    /// `127.0.0.1:PORT`, a scrape target.
    pub fn target(&self) -> String {
        format!("127.0.0.1:{}", self.inner.ports[0])
    }
}
