//! Finding Postgres, running it as `postgres` when we are root, and a cached `initdb`.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use crate::commands::run_bounded;
use crate::lock_file;
use crate::scope;

/// Bumped whenever the `initdb` flags change, so stale cached templates are not reused.
const TEMPLATE_FORMAT: &str = "v1";

pub(crate) struct PgInstall {
    pub(crate) bin: PathBuf,
    version: String,
    /// uid and gid to run as: Postgres refuses to run as root.
    user: Option<(u32, u32)>,
}

pub(crate) fn install() -> &'static PgInstall {
    static INSTALL: OnceLock<PgInstall> = OnceLock::new();
    INSTALL.get_or_init(|| {
        let bin = bin_dir();
        scope::create_dir(&scope::root());
        let log = scope::root().join(format!("pg-version-{}.log", std::process::id()));
        run_bounded(
            Command::new(bin.join("postgres")).arg("--version"),
            &log,
            Duration::from_secs(10),
        )
        .unwrap_or_else(|e| panic!("cannot run postgres --version: {e}"));
        // "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
        let version = std::fs::read_to_string(&log)
            .ok()
            .and_then(|out| out.split_whitespace().nth(2).map(str::to_owned))
            .unwrap_or_else(|| "unknown".to_owned());
        let _ = std::fs::remove_file(&log);
        PgInstall {
            bin,
            version,
            user: server_user(),
        }
    })
}

/// `postgres` on PATH, else the newest `/usr/lib/postgresql/<major>/bin` (Debian keeps it off PATH).
/// A `postgres` on PATH is often a symlink without `psql` beside it: use the directory it points to.
fn bin_dir() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let on_path = std::env::split_paths(&path)
        .filter_map(|dir| dir.join("postgres").canonicalize().ok())
        .find_map(|postgres| postgres.parent().map(Path::to_path_buf));
    if let Some(dir) = on_path.filter(|dir| dir.join("initdb").is_file()) {
        return dir;
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let major = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("postgres").is_file().then_some((major, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .unwrap_or_else(|| panic!("Postgres not found on PATH or in /usr/lib/postgresql/*/bin; install it: apt-get install -y postgresql"))
}

fn server_user() -> Option<(u32, u32)> {
    if !nix::unistd::getuid().is_root() {
        return None;
    }
    match nix::unistd::User::from_name("postgres") {
        Ok(Some(user)) => Some((user.uid.as_raw(), user.gid.as_raw())),
        _ => panic!(
            "running as root, and Postgres refuses root: create the system user `postgres` (the postgresql package does)"
        ),
    }
}

impl PgInstall {
    pub(crate) fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin.join(program));
        if let Some((uid, gid)) = self.user {
            command.uid(uid).gid(gid);
        }
        command
    }

    /// Hands a directory we created as root to the server user.
    fn chown(&self, path: &Path) {
        if let Some((uid, gid)) = self.user {
            std::os::unix::fs::chown(path, Some(uid), Some(gid))
                .unwrap_or_else(|e| panic!("cannot chown {} to postgres: {e}", path.display()));
        }
    }

    /// A data directory made by `initdb` once per machine, Postgres version and user, then copied:
    /// `cp -a` of ~25 MB is several times faster than `initdb`.
    fn template(&self) -> &'static Path {
        static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
        TEMPLATE.get_or_init(|| {
            // Beside the scope directories, but no watchdog ever deletes it.
            let cache = scope::root().join("cache");
            scope::create_dir(&cache);
            let uid = self
                .user
                .map_or_else(|| nix::unistd::getuid().as_raw(), |(uid, _)| uid);
            let name = format!("pg-{}-uid{uid}-{TEMPLATE_FORMAT}", self.version);
            let template = cache.join(&name);
            let _lock = lock_file::lock_blocking(
                &cache.join(format!("{name}.lock")),
                Duration::from_secs(120),
            );
            if template.join("PG_VERSION").is_file() {
                return template;
            }
            let building = cache.join(format!("{name}.tmp-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&building);
            scope::create_dir(&building);
            self.chown(&building);
            let mut initdb = self.command("initdb");
            initdb
                .arg("-D")
                .arg(&building)
                .args([
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-locale",
                ])
                // Small WAL segments keep the template (and every copy) small; no fsync: throw-away.
                .args(["--wal-segsize=1", "--no-sync"])
                .current_dir(&cache);
            let log = cache.join(format!("{name}.initdb.log"));
            run_bounded(&mut initdb, &log, Duration::from_secs(120))
                .unwrap_or_else(|e| panic!("initdb failed: {e}"));
            std::fs::rename(&building, &template).unwrap_or_else(|e| {
                panic!(
                    "cannot rename {} to {}: {e}",
                    building.display(),
                    template.display()
                )
            });
            template
        })
    }

    /// A fresh cluster in `data` (which must not exist yet).
    pub(crate) fn copy_template(&self, data: &Path) {
        let template = self.template();
        let log = data.with_extension("copy.log");
        let mut copy = Command::new("cp");
        copy.arg("-a").arg(template).arg(data);
        run_bounded(&mut copy, &log, Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("cannot copy the Postgres template: {e}"));
        let _ = std::fs::remove_file(&log);
    }
}
