//! Uploading files, reading them back, and checking the files a message references.

use std::time::Duration;

use bytes::Bytes;
use fechatter_events::Event as DomainEvent;
use fechatter_events::FileId;
use fechatter_events::payload::FileUploaded;
use futures::{Stream, StreamExt};
use sqlx::PgExecutor;
use tracing::instrument;

use crate::auth::CurrentUser;
use crate::config::Limits;
use crate::db;
use crate::deps::Deps;
use crate::error::AppError;
use crate::models::file::{FileInfo, FileRow};
use crate::observability::metrics::{FileMetrics, UploadResult};
use crate::repo;
use crate::repo::files::NewFile;
use crate::service::events::{self, Event};
use crate::service::quota;
use crate::storage::sniff::{self, Detected};
use crate::storage::{FileStore, Upload, UploadError};

const MAX_FILENAME_CHARS: usize = 255;
const UNSUPPORTED_FILE_TYPE: &str = "unsupported_file_type";

/// The name to keep: no directory part, no control characters, at most 255 characters.
fn filename(raw: Option<&str>) -> String {
    let base = raw
        .unwrap_or_default()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default();
    let clean: String = base
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_FILENAME_CHARS)
        .collect();
    match clean.trim() {
        "" | "." | ".." => "file".to_owned(),
        name => name.to_owned(),
    }
}

fn from_upload_error(err: UploadError) -> AppError {
    match err {
        UploadError::TooLarge(limit) => {
            AppError::TooLarge(format!("a file may have at most {limit} bytes"))
        }
        UploadError::Io(err) => AppError::internal(format!("storing an upload: {err}")),
    }
}

fn unsupported(detected: Detected) -> AppError {
    let message = match detected {
        Detected::Unknown => "the file's content is of no type this service stores".to_owned(),
        Detected::NotAllowed(kind) => format!("files of type {kind} are not accepted"),
    };
    AppError::UnsupportedMediaType {
        code: UNSUPPORTED_FILE_TYPE,
        message,
    }
}

/// Counts an upload attempt under its result.
pub fn record(result: &Result<FileInfo, AppError>, elapsed: Duration) {
    let outcome = match result {
        Ok(_) => UploadResult::Success,
        Err(AppError::TooLarge(_)) => UploadResult::TooLarge,
        Err(AppError::QuotaExceeded(_)) => UploadResult::QuotaExceeded,
        Err(AppError::UnsupportedMediaType {
            code: UNSUPPORTED_FILE_TYPE,
            ..
        }) => UploadResult::UnsupportedType,
        Err(
            AppError::Invalid { .. }
            | AppError::BadRequest { .. }
            | AppError::UnsupportedMediaType { .. },
        ) => UploadResult::Invalid,
        Err(_) => UploadResult::Failed,
    };
    FileMetrics::upload(outcome, elapsed);
}

/// Writes `body` to the store, stopping as soon as it is too large or its first bytes show a type
/// that is not accepted.
async fn receive<S>(upload: &mut Upload, mut body: S) -> Result<&'static str, AppError>
where
    S: Stream<Item = Result<Bytes, AppError>> + Unpin,
{
    let mut checked = None;
    while let Some(chunk) = body.next().await {
        upload.write(&chunk?).await.map_err(from_upload_error)?;
        if checked.is_none() && upload.head().len() >= sniff::HEAD_BYTES {
            checked = Some(sniff::allowed_type(upload.head()).map_err(unsupported)?);
        }
    }
    if upload.size() == 0 {
        return Err(AppError::invalid("empty_file", "the file is empty"));
    }
    match checked {
        Some(kind) => Ok(kind),
        None => sniff::allowed_type(upload.head()).map_err(unsupported),
    }
}

/// Stores an upload of the caller's and records its `file.uploaded` event, within the caller's
/// and their workspace's quotas (see [`quota`]).
#[instrument(skip_all, fields(user = %caller.id))]
pub async fn upload<S>(
    deps: &Deps,
    store: &FileStore,
    caller: &CurrentUser,
    name: Option<&str>,
    body: S,
) -> Result<FileInfo, AppError>
where
    S: Stream<Item = Result<Bytes, AppError>> + Unpin,
{
    let settings = &deps.config().files;
    let max = settings.max_upload_bytes as u64;
    let room = quota::room_for(deps, caller).await?;
    let mut upload = store
        .begin(max.min(room.bytes))
        .await
        .map_err(|err| AppError::internal(format!("starting an upload: {err}")))?;
    let content_type = receive(&mut upload, body).await.map_err(|err| match err {
        AppError::TooLarge(_) if room.bytes < max => quota::exceeded(settings, room.bound_by),
        other => other,
    })?;
    let blob = upload
        .finish()
        .await
        .map_err(|err| AppError::internal(format!("storing an upload: {err}")))?;
    let name = filename(name);
    let size_bytes = i64::try_from(blob.size).map_err(AppError::internal)?;
    let mut tx = db::begin(deps.pool()).await?;
    quota::reserve(&mut tx, deps, caller, blob.size).await?;
    let row = repo::files::insert(
        &mut *tx,
        NewFile {
            workspace_id: caller.workspace_id,
            uploader_id: caller.id,
            sha256: &blob.sha256,
            size_bytes,
            content_type,
            filename: &name,
        },
    )
    .await?;
    events::record(
        &mut *tx,
        Event {
            workspace_id: caller.workspace_id,
            chat_id: None,
            actor_id: Some(caller.id),
            recipients: vec![caller.id],
            event: DomainEvent::FileUploaded(FileUploaded {
                file_id: row.id,
                uploader_id: caller.id,
                size_bytes: blob.size,
                content_type: content_type.to_owned(),
            }),
        },
    )
    .await?;
    events::commit(deps, tx).await?;
    FileMetrics::stored(blob.size);
    Ok(row.into())
}

/// The file and its open content, if the caller may see it (404 otherwise).
#[instrument(skip_all, fields(user = %caller.id, file = %id))]
pub async fn open(
    deps: &Deps,
    store: &FileStore,
    caller: &CurrentUser,
    id: FileId,
) -> Result<(FileRow, tokio::fs::File), AppError> {
    let row = repo::files::find_visible(deps.pool(), id, caller.id, caller.workspace_id)
        .await?
        .ok_or(AppError::NotFound("file"))?;
    let path = store.path_of(&row.sha256);
    let content = tokio::fs::File::open(&path).await.map_err(|err| {
        AppError::internal(format!(
            "file {id} has no readable blob at {}: {err}",
            path.display()
        ))
    })?;
    Ok((row, content))
}

/// 422 `too_many_files` when a message names more files than it may reference (duplicates
/// included): checked before anything else looks at the list, so its length bounds all later work.
pub fn check_count(limits: &Limits, requested: &[FileId]) -> Result<(), AppError> {
    let max = limits.max_files_per_message;
    if requested.len() > max {
        return Err(AppError::invalid(
            "too_many_files",
            format!("a message may reference at most {max} files"),
        ));
    }
    Ok(())
}

/// The files a new message of the caller's may reference (a list [`check_count`] passed): each
/// must exist in the caller's workspace and be theirs or already visible to them. Duplicates are
/// dropped, order is kept.
pub async fn attachable(
    db: impl PgExecutor<'_>,
    caller: &CurrentUser,
    requested: &[FileId],
) -> Result<Vec<FileId>, AppError> {
    let mut files: Vec<FileId> = Vec::with_capacity(requested.len());
    for id in requested {
        if !files.contains(id) {
            files.push(*id);
        }
    }
    if files.is_empty() {
        return Ok(files);
    }
    let visible = repo::files::visible_ids(db, &files, caller.id, caller.workspace_id).await?;
    if visible.len() != files.len() {
        return Err(AppError::invalid(
            "unknown_file",
            "files must be uploaded by you, or visible to you, in this workspace",
        ));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filename_keeps_only_its_last_component_without_control_characters() {
        assert_eq!(filename(Some("../../etc/passwd")), "passwd");
        assert_eq!(filename(Some("C:\\Users\\ann\\cat.png")), "cat.png");
        assert_eq!(filename(Some("a\u{0}b\nc.txt")), "abc.txt");
        assert_eq!(filename(Some("..")), "file");
        assert_eq!(filename(None), "file");
        assert_eq!(filename(Some(&"é".repeat(300))).chars().count(), 255);
    }
}
