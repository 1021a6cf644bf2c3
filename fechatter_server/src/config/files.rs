//! Where uploads are stored, how large they may be, how much each user and workspace may keep, and
//! how often what nothing references is swept away.

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
    /// Bytes of uploads one user may keep; beyond it an upload gets 413 `quota_exceeded`.
    pub user_quota_bytes: u64,
    /// Bytes of uploads one workspace may keep, all its users together.
    pub workspace_quota_bytes: u64,
    /// How often the sweep forgets orphaned uploads and deletes unreferenced blobs and leftover
    /// temporary files.
    pub sweep_interval: Duration,
    /// An upload no live message references is forgotten (and its bytes deleted, unless another
    /// upload has the same content) once it and the deletion of its last message are this old.
    pub orphan_grace: Duration,
    /// A temporary upload file this old belongs to no upload in progress (an upload is cut off at
    /// its deadline) and is deleted.
    pub temp_max_age: Duration,
}

impl FileSettings {
    pub fn from(env: &Env) -> Result<Self, ConfigError> {
        let settings = Self {
            dir: PathBuf::from(env.string("FILES_DIR", ".fechatter/files")),
            max_upload_bytes: env.bounded(
                "MAX_UPLOAD_BYTES",
                10 * 1024 * 1024,
                1024,
                1024 * 1024 * 1024,
            )?,
            upload_timeout: env.bounded_millis("UPLOAD_TIMEOUT_MS", 300_000, 100, 3_600_000)?,
            user_quota_bytes: env.bounded("UPLOAD_QUOTA_PER_USER_BYTES", 1 << 30, 1024, 1 << 50)?,
            workspace_quota_bytes: env.bounded(
                "UPLOAD_QUOTA_PER_WORKSPACE_BYTES",
                10 << 30,
                1024,
                1 << 50,
            )?,
            sweep_interval: env.bounded_seconds(
                "FILES_SWEEP_INTERVAL_SECONDS",
                3600,
                1,
                7 * 24 * 3600,
            )?,
            orphan_grace: env.bounded_seconds(
                "FILES_ORPHAN_GRACE_SECONDS",
                24 * 3600,
                1,
                365 * 24 * 3600,
            )?,
            temp_max_age: env.bounded_seconds(
                "FILES_TEMP_MAX_AGE_SECONDS",
                3600,
                1,
                7 * 24 * 3600,
            )?,
        };
        if settings.temp_max_age <= settings.upload_timeout {
            return Err(ConfigError::Invalid {
                variable: env.variable("FILES_TEMP_MAX_AGE_SECONDS"),
                value: settings.temp_max_age.as_secs().to_string(),
                reason: format!(
                    "must be longer than an upload may take (FECHATTER_UPLOAD_TIMEOUT_MS = {} ms), \
                     or uploads in progress would lose their temporary file",
                    settings.upload_timeout.as_millis()
                ),
            });
        }
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<FileSettings, ConfigError> {
        FileSettings::from(&Env::from_map("FECHATTER", pairs.iter().copied()))
    }

    #[test]
    fn quotas_and_the_sweep_have_safe_defaults() {
        let defaults = settings(&[]).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(
            (defaults.user_quota_bytes, defaults.workspace_quota_bytes),
            (1 << 30, 10 << 30)
        );
        assert_eq!(defaults.orphan_grace, Duration::from_secs(86_400));
    }

    #[test]
    fn temporary_files_may_not_be_swept_before_an_upload_can_end() {
        let err = settings(&[
            ("FECHATTER_UPLOAD_TIMEOUT_MS", "600000"),
            ("FECHATTER_FILES_TEMP_MAX_AGE_SECONDS", "60"),
        ])
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("FECHATTER_FILES_TEMP_MAX_AGE_SECONDS"),
            "{err}"
        );
    }
}
