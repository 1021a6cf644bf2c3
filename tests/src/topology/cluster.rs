//! A scaled-out deployment for the tests of live delivery across failures: Postgres, a 3-node NATS
//! cluster (the event stream and the presence bucket on 3 replicas), and several fechatter_server
//! and notify_server instances side by side, each connected to one NATS node (instance `i` to node
//! `i % 3`; the client learns the other nodes from it and fails over to them). No bot, analytics or
//! ClickHouse: live delivery needs none of them.

use nix::sys::signal::Signal;
use test_support::{NatsCluster, Postgres, free_port};

use super::process::Process;
use super::{Secrets, Service};

pub struct Cluster {
    pub postgres: Postgres,
    pub nats: NatsCluster,
    /// The key pair, bot credential and NATS users, as the single topology's.
    pub secrets: Secrets,
    fechatters: Vec<Process>,
    notifies: Vec<Process>,
    logs: tempfile::TempDir,
}

impl Cluster {
    /// Starts `fechatters` fechatter_server and `notifies` notify_server instances (with
    /// `overrides`, full variable names) and waits until all are ready.
    pub async fn start(fechatters: usize, notifies: usize, overrides: &[(&str, &str)]) -> Cluster {
        let secrets = Secrets::generate();
        // Every node serves the repository's users and permissions, as in compose.
        let (postgres, nats) = tokio::join!(
            Postgres::dedicated(),
            NatsCluster::start_with(secrets.nats.config())
        );
        let mut logs = tempfile::tempdir().unwrap_or_else(|e| panic!("log dir: {e}"));
        if std::env::var_os("FECHATTER_TEST_KEEP").is_some() {
            // As the single topology does: kept for a post-mortem.
            logs.disable_cleanup(true);
            eprintln!("cluster logs kept in {}", logs.path().display());
        }
        let database_url = postgres.url("postgres");
        let secret_files = secrets.write_to(logs.path());
        let replicas = NatsCluster::REPLICAS.to_string();
        let instance = |service: Service, index: usize| {
            let mut settings = vec![
                ("NATS_URL", nats.url(index % NatsCluster::NODES)),
                ("NATS_STREAM_REPLICAS", replicas.clone()),
                ("LOG_FORMAT", "json".to_owned()),
                ("LOG", "info".to_owned()),
                ("HEALTH_INTERVAL_MS", "500".to_owned()),
            ];
            settings.extend(secrets.settings(service, &secret_files));
            if service == Service::Fechatter {
                settings.push(("DATABASE_URL", database_url.clone()));
                let files = logs.path().join("files");
                settings.push(("FILES_DIR", files.display().to_string()));
            }
            Process::new(
                service,
                (free_port(), free_port()),
                settings,
                overrides,
                logs.path().join(format!("{}-{index}.log", service.name())),
            )
        };
        let fechatters: Vec<Process> = (0..fechatters)
            .map(|i| instance(Service::Fechatter, i))
            .collect();
        let notifies: Vec<Process> = (0..notifies)
            .map(|i| instance(Service::Notify, i))
            .collect();
        let cluster = Cluster {
            postgres,
            nats,
            secrets,
            fechatters,
            notifies,
            logs,
        };
        // The first fechatter migrates the database and creates the stream; the others then start
        // on a schema that is there.
        if let Some(first) = cluster.fechatters.first() {
            first.start().await;
            first.wait_ready().await;
        }
        let rest = cluster.fechatters.iter().skip(1).chain(&cluster.notifies);
        for process in rest.clone() {
            process.start().await;
        }
        for process in rest {
            process.wait_ready().await;
        }
        cluster
    }

    fn instance(&self, service: Service, index: usize) -> &Process {
        let instances = match service {
            Service::Fechatter => &self.fechatters,
            Service::Notify => &self.notifies,
            Service::Bot | Service::Analytics => &[][..],
        };
        instances.get(index).unwrap_or_else(|| {
            panic!(
                "the cluster has {} {} instances, not {}",
                instances.len(),
                service.name(),
                index + 1
            )
        })
    }

    /// `http://127.0.0.1:PORT` of an instance's API.
    pub fn url(&self, service: Service, index: usize) -> String {
        self.instance(service, index).url()
    }

    pub fn metrics_url(&self, service: Service, index: usize) -> String {
        self.instance(service, index).metrics_url()
    }

    /// The URLs of every instance of `service`, starting with instance `first` and going round:
    /// where a client goes when the one before refuses it.
    pub fn urls_from(&self, service: Service, first: usize) -> Vec<String> {
        let count = match service {
            Service::Fechatter => self.fechatters.len(),
            _ => self.notifies.len(),
        };
        (0..count)
            .map(|n| self.url(service, (first + n) % count))
            .collect()
    }

    /// SIGKILLs an instance, like a crash.
    pub async fn kill(&self, service: Service, index: usize) {
        self.instance(service, index).signal(Signal::SIGKILL).await;
    }

    /// Everything the instances have logged so far.
    pub fn logs(&self) -> String {
        self.fechatters
            .iter()
            .chain(&self.notifies)
            .map(|p| std::fs::read_to_string(p.log()).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn log_dir(&self) -> &std::path::Path {
        self.logs.path()
    }
}
