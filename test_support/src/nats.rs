//! NATS with JetStream: one shared server per test binary, or a dedicated one for fault tests.
//!
//! Tests isolate themselves on the shared server with their own stream and subject prefix, e.g.
//! `fechatter_events::EventBus::isolated(&test_support::unique_name("t"))`.

use std::path::PathBuf;
use std::process::Command;

use tokio::sync::OnceCell;

use crate::commands::find_binary;
use crate::process::{Instance, Launch};

pub struct Nats {
    inner: Instance<NatsServer>,
}

/// Extra configuration of a dedicated server: a file its configuration includes (e.g. the
/// repository's `nats/nats-server.conf` with its users and permissions) and the environment the
/// server reads variables of that file from (e.g. `FECHATTER_NATS_PASSWORD`).
#[derive(Debug, Clone, Default)]
pub struct NatsConfig {
    pub include: Option<PathBuf>,
    pub env: Vec<(String, String)>,
}

struct NatsServer {
    dir: PathBuf,
    port: u16,
    monitoring_port: u16,
    config: NatsConfig,
}

impl Launch for NatsServer {
    const NAME: &'static str = "nats";
    const PORTS: usize = 2;
    type Config = NatsConfig;

    fn new(dir: PathBuf, ports: &[u16], config: &NatsConfig) -> Self {
        NatsServer {
            dir,
            port: ports[0],
            monitoring_port: ports[1],
            config: config.clone(),
        }
    }

    async fn prepare(&self) {
        // Every stream reserves its `max_bytes` (1 GiB by default) against the server's store
        // limit, which NATS derives from the free disk; a shared server holds a stream per test,
        // so the limit is raised far beyond what the tests really write.
        let mut config = format!(
            "jetstream {{\n  store_dir: \"{}\"\n  max_file_store: 100TB\n  max_memory_store: 1GB\n}}\n",
            self.dir.join("jetstream").display()
        );
        if let Some(include) = &self.config.include {
            // nats-server resolves an include relative to the including file, absolute or not.
            std::fs::copy(include, self.dir.join("included.conf"))
                .unwrap_or_else(|e| panic!("copying {} for NATS: {e}", include.display()));
            config.push_str("include \"included.conf\"\n");
        }
        std::fs::write(self.dir.join("nats.conf"), config)
            .unwrap_or_else(|e| panic!("writing the NATS config: {e}"));
    }

    fn command(&self) -> Command {
        let mut command = Command::new(find_binary("nats-server", "nats-server"));
        command
            .arg("-c")
            .arg(self.dir.join("nats.conf"))
            .args(["-a", "127.0.0.1", "-p"])
            .arg(self.port.to_string())
            .arg("-m")
            .arg(self.monitoring_port.to_string())
            // The store directory stays across stop/start, so streams survive a restart.
            .arg("-js")
            .envs(self.config.env.iter().map(|(k, v)| (k, v)));
        command
    }

    async fn ready(&self) -> bool {
        // 200 only once JetStream is up, not merely the listener.
        crate::http::get_ok(&format!(
            "http://127.0.0.1:{}/healthz",
            self.monitoring_port
        ))
        .await
        .is_some()
    }
}

impl Nats {
    /// The server shared by every test of this test binary (and run, under nextest).
    pub async fn shared() -> &'static Nats {
        static SHARED: OnceCell<Nats> = OnceCell::const_new();
        SHARED
            .get_or_init(|| async {
                Nats {
                    inner: Instance::shared(&NatsConfig::default()).await,
                }
            })
            .await
    }

    /// A server of the caller's own, which it may [`stop`](Self::stop) and [`start`](Self::start);
    /// killed and deleted on drop.
    pub async fn dedicated() -> Nats {
        Self::dedicated_with(NatsConfig::default()).await
    }

    /// A dedicated server with extra configuration (users and permissions).
    pub async fn dedicated_with(config: NatsConfig) -> Nats {
        Nats {
            inner: Instance::dedicated(&config).await,
        }
    }

    pub fn port(&self) -> u16 {
        self.inner.ports[0]
    }

    /// `nats://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port())
    }

    /// `http://127.0.0.1:PORT` of the monitoring endpoints (`/varz`, `/jsz`, `/healthz`).
    pub fn monitoring_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.inner.ports[1])
    }

    /// Stops a dedicated server; the port and the JetStream store stay for [`start`](Self::start).
    pub async fn stop(&self) {
        self.inner.stop().await;
    }

    /// SIGKILLs a dedicated server, like a crash; [`start`](Self::start) brings it back with its
    /// data (Postgres runs crash recovery).
    pub async fn kill(&self) {
        self.inner.kill().await;
    }

    /// Starts a stopped dedicated server again on the same port, with its streams.
    pub async fn start(&self) {
        self.inner.start().await;
    }
}
