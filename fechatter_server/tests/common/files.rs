//! Uploads as a browser sends them (multipart/form-data), and what the file store holds.

use std::path::{Path, PathBuf};

use super::http::Reply;
use super::{TestApp, TestUser};

pub const BOUNDARY: &str = "fechatter-test-boundary-7MA4YWxkTrZu0gW";

/// A multipart body with one `file` part.
pub fn multipart(filename: &str, content_type: &str, bytes: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
         Content-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// A PNG: its signature and header chunk, then `len` more bytes.
pub fn png(len: usize) -> Vec<u8> {
    let mut bytes =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    bytes.extend((0..len).map(|i| (i * 31 % 251) as u8));
    bytes
}

/// Every file under `dir`, temporary ones included.
pub fn stored_files(dir: &Path) -> Vec<PathBuf> {
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
    found.sort();
    found
}

impl TestApp {
    pub async fn upload_body(&self, user: &TestUser, content_type: &str, body: Vec<u8>) -> Reply {
        let request = self
            .client
            .post(self.url("/api/files"))
            .bearer_auth(&user.token)
            .header("content-type", content_type)
            .body(body);
        self.send_request(request).await
    }

    pub async fn upload(
        &self,
        user: &TestUser,
        filename: &str,
        content_type: &str,
        bytes: &[u8],
    ) -> Reply {
        self.upload_body(
            user,
            &format!("multipart/form-data; boundary={BOUNDARY}"),
            multipart(filename, content_type, bytes),
        )
        .await
    }

    pub fn stored_files(&self) -> Vec<PathBuf> {
        stored_files(&self.files_dir)
    }
}
