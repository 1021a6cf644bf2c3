//! Starts Postgres, NATS and ClickHouse (dedicated, so tests may stop them), Postgres's exporter and
//! the four services as child processes on free ports, each logging JSON to its own file.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::Signal;
use test_support::{
    ClickHouse, Nats, Postgres, PostgresExporter, PostgresExporterConfig, PrometheusConfig,
    free_port,
};

use crate::nats_users::NatsUsers;

pub mod cluster;
mod probes;
mod process;

use process::Process;
use tokio::process::Command;

/// Long enough for a cold debug binary to connect, migrate and create its stream.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The deployment's secrets, made fresh for each topology as `fechatter_secrets` would: the
/// access-token key pair (handed to the services as files), the bot credential and the NATS users'
/// passwords (NATS runs with the repository's `nats/nats-server.conf`).
#[derive(Debug, Clone)]
pub struct Secrets {
    pub jwt_private_key: String,
    pub jwt_public_key: String,
    pub bot_api_key: String,
    pub nats: NatsUsers,
}

/// Where [`Secrets::write_to`] put the secrets the services read from files.
pub(crate) struct SecretFiles {
    jwt_private_key: String,
    jwt_public_key: String,
    bot_api_key: String,
}

impl Secrets {
    pub(crate) fn generate() -> Secrets {
        let (jwt_private_key, jwt_public_key) =
            fechatter_auth::generate_key_pair().unwrap_or_else(|e| panic!("a key pair: {e}"));
        Secrets {
            jwt_private_key,
            jwt_public_key,
            bot_api_key: format!("bot-{}", uuid::Uuid::new_v4().simple()),
            nats: NatsUsers::generate(),
        }
    }

    /// Writes the key pair and the bot credential as files into `dir/secrets`.
    pub(crate) fn write_to(&self, dir: &Path) -> SecretFiles {
        let keys = dir.join("secrets");
        std::fs::create_dir_all(&keys).unwrap_or_else(|e| panic!("secrets dir: {e}"));
        let write = |name: &str, content: &str| {
            let path = keys.join(name);
            std::fs::write(&path, content).unwrap_or_else(|e| panic!("{name}: {e}"));
            path.display().to_string()
        };
        SecretFiles {
            jwt_private_key: write("jwt_private.pem", &self.jwt_private_key),
            jwt_public_key: write("jwt_public.pem", &self.jwt_public_key),
            bot_api_key: write("bot_api_key", &self.bot_api_key),
        }
    }

    /// The settings (without the service's prefix) that give `service` its secrets: its own NATS
    /// user (the default user is its name) and the key or credential it holds.
    pub(crate) fn settings(
        &self,
        service: Service,
        files: &SecretFiles,
    ) -> Vec<(&'static str, String)> {
        let mut settings = vec![(
            "NATS_PASSWORD",
            self.nats.password(service.nats_user()).to_owned(),
        )];
        match service {
            Service::Fechatter => {
                settings.push(("JWT_PRIVATE_KEY_FILE", files.jwt_private_key.clone()));
                settings.push(("BOT_API_KEY_FILE", files.bot_api_key.clone()));
            }
            Service::Bot => settings.push(("FECHATTER_API_KEY_FILE", files.bot_api_key.clone())),
            Service::Notify | Service::Analytics => {
                settings.push(("JWT_PUBLIC_KEY_FILE", files.jwt_public_key.clone()));
            }
        }
        settings
    }

    /// Every secret value, to look for in logs.
    pub fn values(&self) -> Vec<String> {
        let mut values = vec![self.bot_api_key.clone()];
        // The key's base64 body, whatever its line breaks.
        values.extend(
            self.jwt_private_key
                .lines()
                .filter(|line| !line.starts_with("-----"))
                .map(str::to_owned),
        );
        values.extend(
            crate::nats_users::USERS
                .iter()
                .map(|user| self.nats.password(user).to_owned()),
        );
        values
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Fechatter,
    Notify,
    Bot,
    Analytics,
}

impl Service {
    pub const ALL: [Service; 4] = [
        Service::Fechatter,
        Service::Notify,
        Service::Bot,
        Service::Analytics,
    ];

    /// The binary, which is also the Prometheus job name.
    pub fn name(self) -> &'static str {
        match self {
            Service::Fechatter => "fechatter_server",
            Service::Notify => "notify_server",
            Service::Bot => "bot_server",
            Service::Analytics => "analytics_server",
        }
    }

    /// The metric prefix, as `check-metrics` expects it.
    pub fn metric_prefix(self) -> &'static str {
        match self {
            Service::Fechatter => "fechatter",
            Service::Notify => "notify",
            Service::Bot => "bot",
            Service::Analytics => "analytics",
        }
    }

    /// Its user in `nats/nats-server.conf`.
    pub fn nats_user(self) -> &'static str {
        self.metric_prefix()
    }

    fn env_prefix(self) -> &'static str {
        match self {
            Service::Fechatter => "FECHATTER",
            Service::Notify => "NOTIFY",
            Service::Bot => "BOT",
            Service::Analytics => "ANALYTICS",
        }
    }
}

pub struct Topology {
    pub postgres: Postgres,
    pub nats: Nats,
    pub clickhouse: ClickHouse,
    pub secrets: Secrets,
    /// `pg_*` series of `postgres`, scraped as job `postgres` like in compose.
    pub postgres_exporter: PostgresExporter,
    processes: Vec<Process>,
    logs: tempfile::TempDir,
}

/// Where the service binaries are: `FECHATTER_E2E_BIN_DIR` when set (a build of one's own where
/// several checkouts share a target directory), else where cargo put them, beside this test
/// binary's `deps/` directory.
fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("FECHATTER_E2E_BIN_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current exe: {e}"));
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| panic!("no target directory above {}", exe.display()))
}

/// Settings every topology gets on top of the services' defaults: short intervals and timeouts so
/// faults are noticed, retried and recovered from within seconds, and cheap password hashing.
const FAST_SETTINGS: &[(&str, &str)] = &[
    ("FECHATTER_ARGON2_MEMORY_KIB", "64"),
    ("FECHATTER_ARGON2_ITERATIONS", "1"),
    ("FECHATTER_OUTBOX_POLL_INTERVAL_MS", "200"),
    // Every client of a test shares one address, and fault tests send and search as fast as they
    // can; the security test runs with tight limits of its own.
    ("FECHATTER_RATE_LIMIT_AUTH_PER_MINUTE", "1000"),
    ("FECHATTER_RATE_LIMIT_SEND_PER_MINUTE", "6000"),
    ("FECHATTER_RATE_LIMIT_SEARCH_PER_MINUTE", "6000"),
    // An upload nothing references is forgotten within seconds (the story leaves one behind).
    ("FECHATTER_FILES_SWEEP_INTERVAL_SECONDS", "1"),
    ("FECHATTER_FILES_ORPHAN_GRACE_SECONDS", "2"),
    // A closed SSE client is noticed at the next keep-alive.
    ("NOTIFY_SSE_KEEP_ALIVE_MS", "1000"),
    // A killed notify's users go offline within seconds.
    ("NOTIFY_PRESENCE_TTL_MS", "5000"),
    ("NOTIFY_PRESENCE_HEARTBEAT_MS", "1000"),
    ("BOT_CONSUMER_ACK_WAIT_MS", "2000"),
    ("ANALYTICS_FLUSH_INTERVAL_MS", "200"),
    ("ANALYTICS_GAUGES_INTERVAL_MS", "1000"),
    ("ANALYTICS_CLICKHOUSE_TIMEOUT_MS", "2000"),
    ("ANALYTICS_NATS_ACK_WAIT_MS", "5000"),
    ("ANALYTICS_NATS_MAX_DELIVER", "3"),
    // The probe runs only where a test sets BOT_PROBE_PASSWORD; then it probes every second.
    ("BOT_PROBE_INTERVAL_MS", "1000"),
];

impl Topology {
    /// Starts everything and waits until all four services are ready.
    pub async fn start() -> Topology {
        Self::start_with(&[]).await
    }

    /// Like [`Topology::start`], with extra or replaced service variables such as
    /// `("NOTIFY_SSE_BUFFER", "8")`.
    pub async fn start_with(overrides: &[(&str, &str)]) -> Topology {
        for (name, _) in overrides {
            assert!(
                Service::ALL
                    .iter()
                    .any(|s| name.starts_with(&format!("{}_", s.env_prefix()))),
                "{name} is no service's variable"
            );
        }
        let secrets = Secrets::generate();
        let (postgres, nats, clickhouse) = tokio::join!(
            Postgres::dedicated(),
            secrets.nats.start(),
            ClickHouse::dedicated()
        );
        let mut logs = tempfile::tempdir().unwrap_or_else(|e| panic!("log dir: {e}"));
        if std::env::var_os("FECHATTER_TEST_KEEP").is_some() {
            // As test_support does with its servers' directories: kept for a post-mortem.
            logs.disable_cleanup(true);
            eprintln!("topology logs kept in {}", logs.path().display());
        }
        let database_url = postgres.url("postgres");
        let secret_files = secrets.write_to(logs.path());
        let postgres_exporter = PostgresExporter::start(PostgresExporterConfig {
            url: database_url.clone(),
            queries: Some(crate::ops::repo_path("exporters/postgres/queries.yml")),
        })
        .await;
        let mut topology = Topology {
            processes: Vec::new(),
            postgres,
            postgres_exporter,
            nats,
            clickhouse,
            secrets,
            logs,
        };
        let ports: Vec<(u16, u16)> = Service::ALL
            .iter()
            .map(|_| (free_port(), free_port()))
            .collect();
        let fechatter_url = format!("http://127.0.0.1:{}", ports[0].0);
        let notify_url = format!("http://127.0.0.1:{}", ports[1].0);
        let analytics_url = format!("http://127.0.0.1:{}", ports[3].0);
        for (service, ports) in Service::ALL.into_iter().zip(ports) {
            let mut env = vec![
                ("NATS_URL", topology.nats.url()),
                ("LOG_FORMAT", "json".to_owned()),
                ("LOG", "info".to_owned()),
                ("HEALTH_INTERVAL_MS", "500".to_owned()),
            ];
            env.extend(topology.secrets.settings(service, &secret_files));
            match service {
                Service::Fechatter | Service::Bot => {
                    env.push(("DATABASE_URL", database_url.clone()));
                }
                Service::Analytics => {
                    env.push(("CLICKHOUSE_URL", topology.clickhouse.http_url()));
                }
                Service::Notify => {}
            }
            if service == Service::Bot {
                env.push(("FECHATTER_URL", fechatter_url.clone()));
                env.push(("PROBE_NOTIFY_URL", notify_url.clone()));
            }
            // A browser loads the web client (when FECHATTER_WEB_DIR is set) from fechatter_server
            // and reaches notify and analytics from that origin.
            match service {
                Service::Fechatter => {
                    env.push(("WEB_NOTIFY_URL", notify_url.clone()));
                    env.push(("WEB_ANALYTICS_URL", analytics_url.clone()));
                }
                Service::Notify | Service::Analytics => {
                    env.push(("CORS_ORIGINS", fechatter_url.clone()));
                }
                Service::Bot => {}
            }
            if service == Service::Fechatter {
                // Uploads go beside the logs, deleted with them.
                let files = topology.logs.path().join("files");
                env.push(("FILES_DIR", files.display().to_string()));
            }
            topology.processes.push(Process::new(
                service,
                ports,
                env,
                overrides,
                topology.logs.path().join(format!("{}.log", service.name())),
            ));
        }
        for service in Service::ALL {
            topology.start_service(service).await;
        }
        for service in Service::ALL {
            topology.wait_ready(service).await;
        }
        topology
    }

    fn process(&self, service: Service) -> &Process {
        self.processes
            .iter()
            .find(|p| p.service == service)
            .unwrap_or_else(|| panic!("{} is not part of the topology", service.name()))
    }

    /// `http://127.0.0.1:PORT` of the service's API (bot: its health port).
    pub fn url(&self, service: Service) -> String {
        self.process(service).url()
    }

    pub fn metrics_url(&self, service: Service) -> String {
        self.process(service).metrics_url()
    }

    /// A Prometheus configuration scraping the four services under their job names, and Postgres's
    /// exporter as job `postgres`.
    pub fn prometheus_config(&self) -> PrometheusConfig {
        self.processes
            .iter()
            .fold(PrometheusConfig::new(), |config, p| {
                config.scrape(p.service.name(), format!("127.0.0.1:{}", p.metrics_port))
            })
            .scrape("postgres", self.postgres_exporter.target())
    }

    /// Starts (or restarts) a service with its original ports and environment.
    pub async fn start_service(&self, service: Service) {
        self.process(service).start().await;
    }

    /// Waits until `/ready` answers 200.
    pub async fn wait_ready(&self, service: Service) {
        self.process(service).wait_ready().await;
    }

    async fn signal(&self, service: Service, signal: Signal) {
        self.process(service).signal(signal).await;
    }

    /// SIGTERM: a graceful, draining shutdown.
    pub async fn stop_service(&self, service: Service) {
        self.signal(service, Signal::SIGTERM).await;
    }

    /// SIGKILL: a crash.
    pub async fn kill_service(&self, service: Service) {
        self.signal(service, Signal::SIGKILL).await;
    }

    /// Runs the `dead_letters` command (beside the service binaries) against this topology's NATS,
    /// as an operator would (signed in as the NATS `operator`); its standard output, or a panic
    /// with its error when it fails.
    pub async fn dead_letters(&self, args: &[&str]) -> String {
        let binary = bin_dir().join("dead_letters");
        let output = tokio::time::timeout(
            Duration::from_secs(30),
            Command::new(&binary)
                .env_clear()
                .env("FECHATTER_NATS_URL", self.nats.url())
                .env("DEAD_LETTERS_NATS_PASSWORD", self.nats_operator_password())
                .args(args)
                .stdin(Stdio::null())
                .output(),
        )
        .await
        .unwrap_or_else(|_| panic!("dead_letters {args:?} did not finish"))
        .unwrap_or_else(|e| panic!("running {}: {e}", binary.display()));
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "dead_letters {args:?}: {}\n{stdout}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    }

    /// Everything the services have logged so far.
    pub fn logs(&self) -> String {
        self.processes
            .iter()
            .map(|p| std::fs::read_to_string(p.log()).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The NATS operator user's password (for tests that publish or inspect directly).
    pub fn nats_operator_password(&self) -> &str {
        self.secrets.nats.password("operator")
    }

    pub fn log_dir(&self) -> &Path {
        self.logs.path()
    }
}
