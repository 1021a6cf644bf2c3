//! The content-addressed file store: each blob lives at `<dir>/ab/cd/<sha256 hex>`. An upload is
//! written to a temporary file in the same directory, hashed on the way, synced, then renamed into
//! place; a failed or abandoned upload deletes its temporary file, so the store never holds a
//! partial blob.

pub mod sniff;
pub mod sweep;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tempfile::TempPath;
use tokio::io::AsyncWriteExt;

/// Where temporary upload files start their names; nothing else in the store does.
pub const TEMP_PREFIX: &str = ".upload-";

#[derive(Debug, Clone)]
pub struct FileStore {
    dir: Arc<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("the file is larger than {0} bytes")]
    TooLarge(u64),
    #[error("file store: {0}")]
    Io(#[from] io::Error),
}

/// A blob written to the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blob {
    pub sha256: [u8; 32],
    pub size: u64,
}

impl FileStore {
    /// Opens the store, creating its directory.
    pub fn open(dir: &Path) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self {
            dir: Arc::new(dir.to_path_buf()),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path_of(&self, sha256: &[u8]) -> PathBuf {
        let hex = hex::encode(sha256);
        self.dir.join(&hex[0..2]).join(&hex[2..4]).join(hex)
    }

    /// Starts an upload of at most `limit` bytes.
    pub async fn begin(&self, limit: u64) -> io::Result<Upload> {
        let dir = self.dir.clone();
        let temp = tokio::task::spawn_blocking(move || {
            tempfile::Builder::new()
                .prefix(TEMP_PREFIX)
                .tempfile_in(dir.as_path())
        })
        .await
        .map_err(io::Error::other)??;
        let (file, path) = temp.into_parts();
        Ok(Upload {
            file: tokio::fs::File::from_std(file),
            temp: path,
            hasher: Sha256::new(),
            size: 0,
            head: Vec::with_capacity(sniff::HEAD_BYTES),
            limit,
            store: self.clone(),
        })
    }
}

/// An upload in progress; dropping it deletes what was written.
pub struct Upload {
    file: tokio::fs::File,
    temp: TempPath,
    hasher: Sha256,
    size: u64,
    head: Vec<u8>,
    limit: u64,
    store: FileStore,
}

impl Upload {
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), UploadError> {
        self.size += chunk.len() as u64;
        if self.size > self.limit {
            return Err(UploadError::TooLarge(self.limit));
        }
        let room = sniff::HEAD_BYTES.saturating_sub(self.head.len());
        self.head.extend_from_slice(&chunk[..room.min(chunk.len())]);
        self.hasher.update(chunk);
        self.file.write_all(chunk).await?;
        Ok(())
    }

    /// The first bytes, for type detection.
    pub fn head(&self) -> &[u8] {
        &self.head
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Makes the upload durable and moves it to its content address. Identical content already
    /// stored is simply replaced by the same bytes.
    pub async fn finish(mut self) -> io::Result<Blob> {
        self.file.flush().await?;
        self.file.sync_all().await?;
        drop(self.file);
        let sha256: [u8; 32] = self.hasher.finalize().into();
        let target = self.store.path_of(&sha256);
        let temp = self.temp;
        tokio::task::spawn_blocking(move || {
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            temp.persist(&target).map_err(|err| err.error)
        })
        .await
        .map_err(io::Error::other)??;
        Ok(Blob {
            sha256,
            size: self.size,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut dirs = vec![dir.to_path_buf()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    found.push(path);
                }
            }
        }
        found
    }

    #[tokio::test]
    async fn a_finished_upload_lands_at_its_hash_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
        let store = FileStore::open(dir.path()).unwrap_or_else(|err| panic!("{err}"));
        let mut upload = store.begin(100).await.unwrap_or_else(|err| panic!("{err}"));
        upload
            .write(b"hello ")
            .await
            .unwrap_or_else(|err| panic!("{err}"));
        upload
            .write(b"world")
            .await
            .unwrap_or_else(|err| panic!("{err}"));
        let blob = upload.finish().await.unwrap_or_else(|err| panic!("{err}"));
        let expected: [u8; 32] = Sha256::digest(b"hello world").into();
        assert_eq!(
            blob,
            Blob {
                sha256: expected,
                size: 11
            }
        );
        assert_eq!(entries(dir.path()), vec![store.path_of(&expected)]);
        assert_eq!(
            std::fs::read(store.path_of(&expected)).unwrap_or_default(),
            b"hello world"
        );
    }

    #[tokio::test]
    async fn an_upload_over_the_limit_or_abandoned_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
        let store = FileStore::open(dir.path()).unwrap_or_else(|err| panic!("{err}"));
        let mut upload = store.begin(4).await.unwrap_or_else(|err| panic!("{err}"));
        assert!(matches!(
            upload.write(b"too long").await,
            Err(UploadError::TooLarge(4))
        ));
        drop(upload);
        let mut abandoned = store.begin(100).await.unwrap_or_else(|err| panic!("{err}"));
        abandoned
            .write(b"half")
            .await
            .unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(entries(dir.path()).len(), 1, "the upload in progress");
        drop(abandoned);
        assert!(entries(dir.path()).is_empty());
    }
}
