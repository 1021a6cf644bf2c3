//! fechatter_server as a child process from its binary: a second service cannot run inside this
//! test process, which has the bot's global metrics recorder.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use fechatter_events::EventBus;
use test_support::free_port;
use tokio::process::{Child, Command};

use super::{BOT_API_KEY, token_keys};

pub struct Fechatter {
    pub base: String,
    _child: Child,
    _logs: tempfile::TempDir,
}

/// Where cargo put the workspace's binaries: beside this test binary's `deps/` directory.
fn binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_else(|err| panic!("current exe: {err}"));
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| panic!("no target directory above {}", exe.display()));
    let binary = dir.join("fechatter_server");
    assert!(
        binary.exists(),
        "{} is missing: build the services first (cargo build --workspace --bins)",
        binary.display()
    );
    binary
}

impl Fechatter {
    pub async fn start(database_url: &str, nats_url: &str, bus: &EventBus) -> Fechatter {
        let port = free_port();
        let logs = tempfile::tempdir().unwrap_or_else(|err| panic!("log dir: {err}"));
        let log_path = logs.path().join("fechatter_server.log");
        let log = std::fs::File::create(&log_path).unwrap_or_else(|err| panic!("log: {err}"));
        let stderr = log.try_clone().unwrap_or_else(|err| panic!("log: {err}"));
        let env = [
            ("HOST", "127.0.0.1".to_owned()),
            ("PORT", port.to_string()),
            ("METRICS_PORT", free_port().to_string()),
            ("DATABASE_URL", database_url.to_owned()),
            ("DATABASE_MAX_CONNECTIONS", "4".to_owned()),
            ("NATS_URL", nats_url.to_owned()),
            ("NATS_STREAM", bus.stream.clone()),
            ("NATS_SUBJECT_PREFIX", bus.subject_prefix.clone()),
            ("JWT_PRIVATE_KEY", token_keys().0.clone()),
            ("BOT_API_KEY", BOT_API_KEY.to_owned()),
            // Cheap hashing: the cost parameters are not what these tests check.
            ("ARGON2_MEMORY_KIB", "64".to_owned()),
            ("ARGON2_ITERATIONS", "1".to_owned()),
            ("HEALTH_INTERVAL_MS", "500".to_owned()),
            ("OUTBOX_POLL_INTERVAL_MS", "200".to_owned()),
            ("LOG_FORMAT", "json".to_owned()),
            ("LOG", "warn".to_owned()),
            // Uploads beside the log, not in the working directory.
            ("FILES_DIR", logs.path().join("files").display().to_string()),
            // The tests poll search while they wait and send as fast as they can; the limits
            // are fechatter_server's own tests' business.
            ("RATE_LIMIT_SEARCH_PER_MINUTE", "100000".to_owned()),
            ("RATE_LIMIT_SEND_PER_MINUTE", "100000".to_owned()),
        ];
        let child = Command::new(binary())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(env.iter().map(|(k, v)| (format!("FECHATTER_{k}"), v)))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|err| panic!("starting fechatter_server: {err}"));
        let fechatter = Fechatter {
            base: format!("http://127.0.0.1:{port}"),
            _child: child,
            _logs: logs,
        };
        let ready = format!("{}/ready", fechatter.base);
        let client = reqwest::Client::new();
        let up = tokio::time::timeout(
            Duration::from_secs(60),
            test_support::wait_until(
                "fechatter_server to be ready",
                Duration::from_secs(120),
                || async {
                    let answered = client.get(&ready).send().await;
                    answered.is_ok_and(|r| r.status().is_success())
                },
            ),
        )
        .await;
        if up.is_err() {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!("fechatter_server was not ready after 60 s; its log:\n{log}");
        }
        fechatter
    }
}
