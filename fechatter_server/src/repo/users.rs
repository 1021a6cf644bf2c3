use fechatter_events::{UserId, WorkspaceId};
use sqlx::{FromRow, PgExecutor};

use crate::db::timed;
use crate::models::{PageRequest, Role, User};

const COLUMNS: &str =
    "id, workspace_id, fullname, handle, email, is_bot, workspace_role, created_at";

pub struct NewUser<'a> {
    pub workspace_id: WorkspaceId,
    pub fullname: &'a str,
    pub handle: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
}

#[derive(Debug, FromRow)]
pub struct Credentials {
    #[sqlx(flatten)]
    pub user: User,
    pub password_hash: String,
}

pub async fn insert_workspace(
    db: impl PgExecutor<'_>,
    name: &str,
) -> Result<WorkspaceId, sqlx::Error> {
    timed(
        "workspaces.insert",
        sqlx::query_scalar("INSERT INTO workspaces (name) VALUES ($1) RETURNING id")
            .bind(name)
            .fetch_one(db),
    )
    .await
}

pub async fn workspace_name(
    db: impl PgExecutor<'_>,
    id: WorkspaceId,
) -> Result<Option<String>, sqlx::Error> {
    timed(
        "workspaces.find",
        sqlx::query_scalar("SELECT name FROM workspaces WHERE id = $1")
            .bind(id)
            .fetch_optional(db),
    )
    .await
}

pub async fn insert(db: impl PgExecutor<'_>, user: NewUser<'_>) -> Result<User, sqlx::Error> {
    let sql = format!(
        "INSERT INTO users (workspace_id, fullname, handle, email, password_hash, workspace_role)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
    );
    timed(
        "users.insert",
        sqlx::query_as::<_, User>(&sql)
            .bind(user.workspace_id)
            .bind(user.fullname)
            .bind(user.handle)
            .bind(user.email)
            .bind(user.password_hash)
            .bind(user.role)
            .fetch_one(db),
    )
    .await
}

pub async fn find(db: impl PgExecutor<'_>, id: UserId) -> Result<Option<User>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
    timed(
        "users.find",
        sqlx::query_as::<_, User>(&sql).bind(id).fetch_optional(db),
    )
    .await
}

/// A human user's row and password hash, by email (case-insensitive).
pub async fn find_credentials(
    db: impl PgExecutor<'_>,
    email: &str,
) -> Result<Option<Credentials>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS}, password_hash FROM users
         WHERE lower(email) = lower($1) AND NOT is_bot AND password_hash IS NOT NULL"
    );
    timed(
        "users.find_credentials",
        sqlx::query_as::<_, Credentials>(&sql)
            .bind(email)
            .fetch_optional(db),
    )
    .await
}

/// Handles in `workspace` equal to `base` or starting with it, to pick a free one.
pub async fn handles_like(
    db: impl PgExecutor<'_>,
    workspace: WorkspaceId,
    base: &str,
) -> Result<Vec<String>, sqlx::Error> {
    timed(
        "users.handles_like",
        sqlx::query_scalar(
            "SELECT handle FROM users WHERE workspace_id = $1 AND starts_with(handle, $2)",
        )
        .bind(workspace)
        .bind(base)
        .fetch_all(db),
    )
    .await
}

/// The users of `workspace` with these handles.
pub async fn ids_by_handles(
    db: impl PgExecutor<'_>,
    workspace: WorkspaceId,
    handles: &[String],
) -> Result<Vec<UserId>, sqlx::Error> {
    timed(
        "users.ids_by_handles",
        sqlx::query_scalar(
            "SELECT id FROM users WHERE workspace_id = $1 AND handle = ANY($2) ORDER BY id",
        )
        .bind(workspace)
        .bind(handles)
        .fetch_all(db),
    )
    .await
}

/// Those of `ids` that are users of `workspace`.
pub async fn in_workspace(
    db: impl PgExecutor<'_>,
    workspace: WorkspaceId,
    ids: &[UserId],
) -> Result<Vec<UserId>, sqlx::Error> {
    timed(
        "users.in_workspace",
        sqlx::query_scalar(
            "SELECT id FROM users WHERE workspace_id = $1 AND id = ANY($2) AND removed_at IS NULL",
        )
        .bind(workspace)
        .bind(ids)
        .fetch_all(db),
    )
    .await
}

/// A page of the workspace directory, newest users first.
pub async fn directory(
    db: impl PgExecutor<'_>,
    workspace: WorkspaceId,
    page: PageRequest,
) -> Result<Vec<User>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM users
         WHERE workspace_id = $1 AND removed_at IS NULL AND ($2::bigint IS NULL OR id < $2)
         ORDER BY id DESC LIMIT $3"
    );
    timed(
        "users.directory",
        sqlx::query_as::<_, User>(&sql)
            .bind(workspace)
            .bind(page.before)
            .bind(page.fetch_limit())
            .fetch_all(db),
    )
    .await
}

/// Removes a human account: its credentials are erased (its email may sign up again) and the row
/// stays, since messages and chats name it; false when already removed.
pub async fn remove(db: impl PgExecutor<'_>, id: UserId) -> Result<bool, sqlx::Error> {
    timed(
        "users.remove",
        sqlx::query(
            "UPDATE users SET removed_at = now(), email = NULL, password_hash = NULL
             WHERE id = $1 AND NOT is_bot AND removed_at IS NULL",
        )
        .bind(id)
        .execute(db),
    )
    .await
    .map(|done| done.rows_affected() > 0)
}
