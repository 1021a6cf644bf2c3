use chrono::{DateTime, Utc};
use fechatter_events::{FileId, MessageId, UserId, WorkspaceId};
use serde::Serialize;
use sqlx::FromRow;
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct FileRow {
    pub id: FileId,
    pub workspace_id: WorkspaceId,
    pub uploader_id: UserId,
    pub sha256: Vec<u8>,
    pub size_bytes: i64,
    pub content_type: String,
    pub filename: String,
    pub created_at: DateTime<Utc>,
}

/// A file a message references, with the message.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct AttachedFileRow {
    pub message_id: MessageId,
    #[sqlx(flatten)]
    pub file: FileRow,
}

/// An uploaded file as the API shows it; its bytes are at `GET /api/files/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FileInfo {
    pub id: FileId,
    pub uploader_id: UserId,
    /// The name it was uploaded under, without any directory part.
    pub filename: String,
    /// Detected from the content, not taken from the upload's header.
    pub content_type: String,
    pub size_bytes: i64,
    /// SHA-256 of the content, lowercase hex.
    pub sha256: String,
    pub created_at: DateTime<Utc>,
}

impl From<FileRow> for FileInfo {
    fn from(row: FileRow) -> Self {
        Self {
            id: row.id,
            uploader_id: row.uploader_id,
            filename: row.filename,
            content_type: row.content_type,
            size_bytes: row.size_bytes,
            sha256: hex::encode(row.sha256),
            created_at: row.created_at,
        }
    }
}
