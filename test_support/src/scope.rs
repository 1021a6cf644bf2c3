//! Where servers live on disk, and who cleans them up when their owner goes away.
//!
//! A scope is a directory plus a watchdog: a tiny `sh` loop in its own process group that polls the
//! scope's owner process and, once it is gone, stops every process group registered under
//! `pgids/` and deletes the directory. Because the watchdog is outside the test's process tree
//! signals and needs no cooperation from the dying process, cleanup happens after a panic, an abort,
//! SIGKILL or Ctrl-C alike.
//!
//! Two scopes per process: the run scope (shared servers; owner: the nextest runner, so the servers
//! outlive the single test process that started them) and the process scope (dedicated servers;
//! owner: this process). Outside nextest both are the same scope, owned by this process.

use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use fs2::FileExt;

use crate::lock_file::{self, lock_blocking};
use crate::watchdog;

pub(crate) struct Scope {
    pub(crate) dir: PathBuf,
}

static RUN: OnceLock<Scope> = OnceLock::new();
static PROCESS: OnceLock<Scope> = OnceLock::new();

/// The scope of shared servers: one per nextest run and test binary.
pub(crate) fn run() -> &'static Scope {
    match std::env::var("NEXTEST_RUN_ID") {
        Ok(run_id) if !run_id.is_empty() => RUN.get_or_init(|| {
            let run_id: String = run_id.chars().filter(char::is_ascii_alphanumeric).collect();
            let short = run_id.get(..12).unwrap_or(&run_id);
            // Every test process of the run is a child of the nextest runner; an orphan (runner
            // already gone, parent now pid 1) owns its servers itself.
            let runner = match nix::unistd::getppid().as_raw() {
                1 => nix::unistd::getpid().as_raw(),
                parent => parent,
            };
            Scope::open(&format!("run-{short}-{}", exe_name()), runner)
        }),
        _ => process(),
    }
}

/// The scope of dedicated servers: this process.
pub(crate) fn process() -> &'static Scope {
    PROCESS.get_or_init(|| {
        let unique = &uuid::Uuid::new_v4().simple().to_string()[..8];
        let key = format!("pid-{}-{unique}-{}", std::process::id(), exe_name());
        Scope::open(&key, nix::unistd::getpid().as_raw())
    })
}

/// `FECHATTER_TEST_KEEP=1` keeps directories (data, configs, logs) for a post-mortem.
pub(crate) fn keep() -> bool {
    std::env::var("FECHATTER_TEST_KEEP").is_ok_and(|v| v == "1")
}

fn exe_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "tests".to_owned())
}

/// Creates `dir` readable by everyone: Postgres runs as another user when we are root and must
/// reach its data directory below ours, whatever the umask.
pub(crate) fn create_dir(dir: &Path) {
    fs::create_dir_all(dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("cannot set permissions of {}: {e}", dir.display()));
}

/// Process start time in clock ticks since boot: with the pid, it names a process even after the
/// pid is reused.
pub(crate) fn start_time(pid: i32) -> Option<String> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19).map(str::to_owned)
}

/// Everything of this user lives here; per user, so that another user's directory (root's, say)
/// never blocks us.
pub(crate) fn root() -> PathBuf {
    let uid = nix::unistd::getuid().as_raw();
    std::env::temp_dir().join(format!("fechatter-test-{uid}"))
}

impl Scope {
    fn open(key: &str, owner: i32) -> Scope {
        let dir = root().join(key);
        create_dir(&root());
        static SWEEP: std::sync::Once = std::sync::Once::new();
        SWEEP.call_once(|| watchdog::sweep(&root(), keep()));
        for each in [dir.clone(), dir.join("pgids")] {
            create_dir(&each);
        }
        let lock = lock_blocking(&dir.join("scope.lock"), Duration::from_secs(30));
        let marker = dir.join("watchdog.pid");
        if !marker.exists() {
            let start = start_time(owner)
                .unwrap_or_else(|| panic!("owner process {owner} of {} is gone", dir.display()));
            let watchdog = watchdog::spawn(owner, &start, &dir, keep());
            fs::write(&marker, watchdog.to_string())
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", marker.display()));
            if keep() {
                eprintln!(
                    "test_support: FECHATTER_TEST_KEEP=1, keeping {}",
                    dir.display()
                );
            }
        }
        drop(lock);
        Scope { dir }
    }

    /// The watchdog stops this process group when the owner goes away. The leader's start time
    /// lets it tell our group from a later one that reuses the pid.
    pub(crate) fn register(&self, pgid: i32) {
        let file = self.dir.join("pgids").join(pgid.to_string());
        let start = start_time(pgid).unwrap_or_default();
        fs::write(&file, format!("{start}\n"))
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", file.display()));
    }

    pub(crate) fn unregister(&self, pgid: i32) {
        let _ = fs::remove_file(self.dir.join("pgids").join(pgid.to_string()));
    }

    /// Serialises the start of a shared server across the test processes of a run.
    pub(crate) async fn lock(&self, name: &str) -> File {
        let path = self.dir.join(format!("{name}.lock"));
        let file = lock_file::open(&path);
        let deadline = Instant::now() + Duration::from_secs(120);
        while file.try_lock_exclusive().is_err() {
            if Instant::now() >= deadline {
                panic!(
                    "waited 120 s for {}: another test process is stuck starting {name}",
                    path.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        file
    }
}
