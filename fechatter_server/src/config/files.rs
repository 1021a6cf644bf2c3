//! Where uploads are stored and how large they may be.

use std::path::PathBuf;
use std::time::Duration;

use env_config::{ConfigError, Env};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSettings {
    /// The content-addressed store; created at start-up. Relative paths are relative to the
    /// working directory (the default matches the state directory of `scripts/up`).
    pub dir: PathBuf,
    /// The largest upload accepted, in bytes; larger ones get 413.
    pub max_upload_bytes: usize,
    /// The request deadline of an upload, instead of `FECHATTER_REQUEST_TIMEOUT_MS`: a large file
    /// on a slow link takes longer than any other request.
    pub upload_timeout: Duration,
}

impl FileSettings {
    pub fn from(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            dir: PathBuf::from(env.string("FILES_DIR", ".fechatter/files")),
            max_upload_bytes: env.bounded(
                "MAX_UPLOAD_BYTES",
                10 * 1024 * 1024,
                1024,
                1024 * 1024 * 1024,
            )?,
            upload_timeout: Duration::from_millis(env.bounded(
                "UPLOAD_TIMEOUT_MS",
                300_000,
                100,
                3_600_000,
            )?),
        })
    }
}
