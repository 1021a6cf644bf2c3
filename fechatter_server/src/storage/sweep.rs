//! The file store's side of the sweep: finding leftover temporary upload files and blobs old
//! enough to be candidates, and removing a blob without racing an upload of the same content.
//!
//! An upload renames its finished temporary file onto the blob's path and then records its row. A
//! blob found unreferenced could therefore get an upload's fresh copy (same bytes) just before
//! it is deleted, whose row is not committed yet. So a blob is first renamed aside (atomically;
//! an upload after that creates a new file at the path), then looked at again: a recently written
//! file or content referenced by now goes back, anything else is deleted. A crash in between
//! leaves a `.sweep-` file that the next sweep settles the same way.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::{FileStore, TEMP_PREFIX};

/// Where a blob set aside by the sweep waits: `<dir>/.sweep-<sha256 hex>`.
const ASIDE_PREFIX: &str = ".sweep-";

/// A blob renamed aside: deleted, or put back where it was.
#[derive(Debug)]
pub struct SetAside {
    pub sha256: Vec<u8>,
    aside: PathBuf,
    home: PathBuf,
    modified: SystemTime,
    size: u64,
}

impl SetAside {
    /// Whether the file was written less than `grace` ago (an upload's fresh copy).
    pub fn is_recent(&self, grace: Duration) -> bool {
        age(self.modified) < grace
    }

    /// Puts the blob back. An upload of the same content may have written the path meanwhile: the
    /// bytes are the same either way.
    pub async fn restore(self) -> io::Result<()> {
        tokio::task::spawn_blocking(move || std::fs::rename(&self.aside, &self.home))
            .await
            .map_err(io::Error::other)?
    }

    /// Deletes the blob; its size.
    pub async fn delete(self) -> io::Result<u64> {
        let size = self.size;
        tokio::fs::remove_file(&self.aside).await?;
        Ok(size)
    }
}

fn age(modified: SystemTime) -> Duration {
    SystemTime::now()
        .duration_since(modified)
        .unwrap_or_default()
}

fn modified(path: &Path) -> io::Result<(SystemTime, u64)> {
    let metadata = std::fs::metadata(path)?;
    Ok((metadata.modified()?, metadata.len()))
}

fn file_name(path: &Path) -> &str {
    path.file_name()
        .and_then(|name| name.to_str())
        .unwrap_or_default()
}

impl FileStore {
    /// Deletes temporary upload files last written more than `max_age` ago; how many.
    pub async fn remove_stale_temp_files(&self, max_age: Duration) -> io::Result<usize> {
        let dir = self.dir().to_path_buf();
        tokio::task::spawn_blocking(move || {
            let mut removed = 0;
            for entry in std::fs::read_dir(&dir)? {
                let path = entry?.path();
                if !file_name(&path).starts_with(TEMP_PREFIX) {
                    continue;
                }
                match modified(&path) {
                    Ok((at, _)) if age(at) > max_age => match std::fs::remove_file(&path) {
                        Ok(()) => removed += 1,
                        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                        Err(err) => return Err(err),
                    },
                    _ => {}
                }
            }
            Ok(removed)
        })
        .await
        .map_err(io::Error::other)?
    }

    /// The hashes of blobs last written more than `grace` ago.
    pub async fn blobs_older_than(&self, grace: Duration) -> io::Result<Vec<Vec<u8>>> {
        let dir = self.dir().to_path_buf();
        tokio::task::spawn_blocking(move || {
            let mut found = Vec::new();
            for first in subdirectories(&dir)? {
                for second in subdirectories(&first)? {
                    for entry in std::fs::read_dir(&second)? {
                        let path = entry?.path();
                        let Ok(sha256) = hex::decode(file_name(&path)) else {
                            continue;
                        };
                        if sha256.len() != 32 {
                            continue;
                        }
                        if let Ok((at, _)) = modified(&path)
                            && age(at) > grace
                        {
                            found.push(sha256);
                        }
                    }
                }
            }
            Ok(found)
        })
        .await
        .map_err(io::Error::other)?
    }

    /// Renames the blob aside; `None` when it is gone already.
    pub async fn set_aside(&self, sha256: &[u8]) -> io::Result<Option<SetAside>> {
        let home = self.path_of(sha256);
        let aside = self
            .dir()
            .join(format!("{ASIDE_PREFIX}{}", hex::encode(sha256)));
        let sha256 = sha256.to_vec();
        tokio::task::spawn_blocking(move || {
            match std::fs::rename(&home, &aside) {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
                Err(err) => return Err(err),
            }
            let (modified, size) = modified(&aside)?;
            Ok(Some(SetAside {
                sha256,
                aside,
                home,
                modified,
                size,
            }))
        })
        .await
        .map_err(io::Error::other)?
    }

    /// Blobs a previous sweep set aside and did not settle (it stopped in between).
    pub async fn left_aside(&self) -> io::Result<Vec<SetAside>> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut found = Vec::new();
            for entry in std::fs::read_dir(store.dir())? {
                let aside = entry?.path();
                let Some(hex_name) = file_name(&aside).strip_prefix(ASIDE_PREFIX) else {
                    continue;
                };
                let Ok(sha256) = hex::decode(hex_name) else {
                    continue;
                };
                if sha256.len() != 32 {
                    continue;
                }
                let (modified, size) = modified(&aside)?;
                found.push(SetAside {
                    home: store.path_of(&sha256),
                    sha256,
                    aside,
                    modified,
                    size,
                });
            }
            Ok(found)
        })
        .await
        .map_err(io::Error::other)?
    }
}

fn subdirectories(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            found.push(entry.path());
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use std::fs::File;

    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn backdate(path: &Path, by: Duration) {
        let file = File::options()
            .write(true)
            .open(path)
            .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        file.set_modified(SystemTime::now() - by)
            .unwrap_or_else(|err| panic!("{err}"));
    }

    async fn stored(store: &FileStore, content: &[u8]) -> Vec<u8> {
        let mut upload = store
            .begin(1024)
            .await
            .unwrap_or_else(|err| panic!("{err}"));
        upload
            .write(content)
            .await
            .unwrap_or_else(|err| panic!("{err}"));
        upload
            .finish()
            .await
            .unwrap_or_else(|err| panic!("{err}"))
            .sha256
            .to_vec()
    }

    #[tokio::test]
    async fn only_old_temporary_files_and_old_blobs_are_candidates() {
        let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
        let store = FileStore::open(dir.path()).unwrap_or_else(|err| panic!("{err}"));
        let old = stored(&store, b"old").await;
        let new = stored(&store, b"new").await;
        backdate(&store.path_of(&old), 2 * HOUR);
        let abandoned = dir.path().join(format!("{TEMP_PREFIX}abandoned"));
        std::fs::write(&abandoned, b"half").unwrap_or_else(|err| panic!("{err}"));
        backdate(&abandoned, 2 * HOUR);
        let in_progress = store
            .begin(1024)
            .await
            .unwrap_or_else(|err| panic!("{err}"));

        assert_eq!(store.blobs_older_than(HOUR).await.ok(), Some(vec![old]));
        assert_eq!(store.remove_stale_temp_files(HOUR).await.ok(), Some(1));
        assert!(!abandoned.exists());
        drop(in_progress);
        assert!(store.path_of(&new).exists());
    }

    #[tokio::test]
    async fn a_blob_set_aside_is_deleted_or_put_back_and_a_leftover_is_found_again() {
        let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
        let store = FileStore::open(dir.path()).unwrap_or_else(|err| panic!("{err}"));
        let kept = stored(&store, b"kept").await;
        let gone = stored(&store, b"gone").await;
        backdate(&store.path_of(&gone), 2 * HOUR);

        let aside = store.set_aside(&kept).await.ok().flatten();
        let aside = aside.unwrap_or_else(|| panic!("nothing set aside"));
        assert!(aside.is_recent(HOUR), "just written");
        assert!(!store.path_of(&kept).exists());
        aside.restore().await.unwrap_or_else(|err| panic!("{err}"));
        assert!(store.path_of(&kept).exists());

        let aside = store.set_aside(&gone).await.ok().flatten();
        let aside = aside.unwrap_or_else(|| panic!("nothing set aside"));
        assert!(!aside.is_recent(HOUR));
        // A sweep that stopped here leaves it for the next one.
        drop(aside);
        let left = store.left_aside().await.unwrap_or_default();
        assert_eq!(left.len(), 1);
        for aside in left {
            assert_eq!(aside.delete().await.ok(), Some(4));
        }
        assert!(store.set_aside(&gone).await.ok().flatten().is_none());
    }
}
