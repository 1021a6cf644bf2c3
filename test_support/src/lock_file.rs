//! Lock files that serialise work on a scope's directory across the test processes of a run.

use std::fs::{self, File};
use std::path::Path;
use std::time::{Duration, Instant};

use fs2::FileExt;

pub(crate) fn open(path: &Path) -> File {
    fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .unwrap_or_else(|e| panic!("cannot open lock file {}: {e}", path.display()))
}

/// For short critical sections outside async code; bounded like every wait here.
pub(crate) fn lock_blocking(path: &Path, timeout: Duration) -> File {
    let file = open(path);
    let deadline = Instant::now() + timeout;
    while file.try_lock_exclusive().is_err() {
        if Instant::now() >= deadline {
            panic!("waited {timeout:?} for lock {}", path.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    file
}
