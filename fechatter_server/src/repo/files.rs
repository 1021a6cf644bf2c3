use fechatter_events::{ChatId, FileId, MessageId, UserId, WorkspaceId};
use sqlx::PgExecutor;

use crate::db::timed;
use crate::models::file::{AttachedFileRow, FileRow};

const COLUMNS: &str = "f.id, f.workspace_id, f.uploader_id, f.sha256, f.size_bytes, f.content_type, f.filename, f.created_at";

/// Who may see file `f`: its uploader, and the members of a chat with a live message referencing
/// it. `$user` is the viewer's parameter.
fn visible_to(user: &str) -> String {
    format!(
        "(f.uploader_id = {user} OR EXISTS (
             SELECT 1 FROM message_files mf
             JOIN messages m ON m.id = mf.message_id AND m.deleted_at IS NULL
             JOIN chat_members cm ON cm.chat_id = mf.chat_id AND cm.user_id = {user}
             WHERE mf.file_id = f.id))"
    )
}

pub struct NewFile<'a> {
    pub workspace_id: WorkspaceId,
    pub uploader_id: UserId,
    pub sha256: &'a [u8],
    pub size_bytes: i64,
    pub content_type: &'a str,
    pub filename: &'a str,
}

pub async fn insert(db: impl PgExecutor<'_>, file: NewFile<'_>) -> Result<FileRow, sqlx::Error> {
    let sql = format!(
        "INSERT INTO files AS f (workspace_id, uploader_id, sha256, size_bytes, content_type, filename)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
    );
    timed(
        "files.insert",
        sqlx::query_as::<_, FileRow>(&sql)
            .bind(file.workspace_id)
            .bind(file.uploader_id)
            .bind(file.sha256)
            .bind(file.size_bytes)
            .bind(file.content_type)
            .bind(file.filename)
            .fetch_one(db),
    )
    .await
}

/// The file, if `user` of `workspace` may see it.
pub async fn find_visible(
    db: impl PgExecutor<'_>,
    id: FileId,
    user: UserId,
    workspace: WorkspaceId,
) -> Result<Option<FileRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM files f WHERE f.id = $1 AND f.workspace_id = $3 AND {}",
        visible_to("$2")
    );
    timed(
        "files.find_visible",
        sqlx::query_as::<_, FileRow>(&sql)
            .bind(id)
            .bind(user)
            .bind(workspace)
            .fetch_optional(db),
    )
    .await
}

/// Those of `ids` that `user` of `workspace` may see.
pub async fn visible_ids(
    db: impl PgExecutor<'_>,
    ids: &[FileId],
    user: UserId,
    workspace: WorkspaceId,
) -> Result<Vec<FileId>, sqlx::Error> {
    let sql = format!(
        "SELECT f.id FROM files f WHERE f.id = ANY($1) AND f.workspace_id = $3 AND {}",
        visible_to("$2")
    );
    timed(
        "files.visible_ids",
        sqlx::query_scalar::<_, FileId>(&sql)
            .bind(ids)
            .bind(user)
            .bind(workspace)
            .fetch_all(db),
    )
    .await
}

/// References `files` (in this order) from a message of `chat`.
pub async fn attach(
    db: impl PgExecutor<'_>,
    chat: ChatId,
    message: MessageId,
    files: &[FileId],
) -> Result<(), sqlx::Error> {
    if files.is_empty() {
        return Ok(());
    }
    timed(
        "message_files.insert",
        sqlx::query(
            "INSERT INTO message_files (message_id, file_id, chat_id, position)
             SELECT $1, file_id, $3, position - 1
             FROM unnest($2::bigint[]) WITH ORDINALITY AS t (file_id, position)",
        )
        .bind(message)
        .bind(files)
        .bind(chat)
        .execute(db),
    )
    .await
    .map(|_| ())
}

/// The files of these messages, in each message's order.
pub async fn of_messages(
    db: impl PgExecutor<'_>,
    messages: &[MessageId],
) -> Result<Vec<AttachedFileRow>, sqlx::Error> {
    let sql = format!(
        "SELECT mf.message_id, {COLUMNS} FROM message_files mf JOIN files f ON f.id = mf.file_id
         WHERE mf.message_id = ANY($1) ORDER BY mf.message_id, mf.position"
    );
    timed(
        "message_files.of_messages",
        sqlx::query_as::<_, AttachedFileRow>(&sql)
            .bind(messages)
            .fetch_all(db),
    )
    .await
}

/// Bytes of uploads `user` keeps, and bytes `workspace` keeps.
pub async fn usage(
    db: impl PgExecutor<'_>,
    user: UserId,
    workspace: WorkspaceId,
) -> Result<(i64, i64), sqlx::Error> {
    timed(
        "files.usage",
        sqlx::query_as::<_, (i64, i64)>(
            "SELECT coalesce((SELECT sum(size_bytes) FROM files WHERE uploader_id = $1), 0)::bigint,
                    coalesce((SELECT sum(size_bytes) FROM files WHERE workspace_id = $2), 0)::bigint",
        )
        .bind(user)
        .bind(workspace)
        .fetch_one(db),
    )
    .await
}

/// Serialises the quota checks of `workspace`'s uploads until the transaction ends, so two
/// uploads cannot both fit into the same room.
pub async fn lock_quota(
    db: impl PgExecutor<'_>,
    workspace: WorkspaceId,
) -> Result<(), sqlx::Error> {
    timed(
        "files.lock_quota",
        sqlx::query(
            "SELECT pg_advisory_xact_lock(hashtextextended('fechatter.upload_quota.' || $1, 0))",
        )
        .bind(workspace)
        .execute(db),
    )
    .await
    .map(|_| ())
}

/// Forgets uploads that no live message references, uploaded more than `grace` ago and whose
/// last referencing message (if any) was deleted more than `grace` ago; how many.
pub async fn forget_orphans(
    db: impl PgExecutor<'_>,
    grace: std::time::Duration,
) -> Result<u64, sqlx::Error> {
    timed(
        "files.forget_orphans",
        sqlx::query(
            "DELETE FROM files f
             WHERE f.created_at < now() - $1 * interval '1 millisecond'
               AND NOT EXISTS (
                   SELECT 1 FROM message_files mf JOIN messages m ON m.id = mf.message_id
                   WHERE mf.file_id = f.id
                     AND (m.deleted_at IS NULL
                          OR m.deleted_at >= now() - $1 * interval '1 millisecond'))",
        )
        .bind(i64::try_from(grace.as_millis()).unwrap_or(i64::MAX))
        .execute(db),
    )
    .await
    .map(|done| done.rows_affected())
}

/// Those of `hashes` some upload still has as its content.
pub async fn referenced(
    db: impl PgExecutor<'_>,
    hashes: &[Vec<u8>],
) -> Result<Vec<Vec<u8>>, sqlx::Error> {
    timed(
        "files.referenced",
        sqlx::query_scalar("SELECT DISTINCT sha256 FROM files WHERE sha256 = ANY($1)")
            .bind(hashes)
            .fetch_all(db),
    )
    .await
}
