//! The workspace assistant bots (users with `is_bot`), which this service creates when bot_server
//! asks (it owns `users`, `docs/design/topology.md`), and the chats they were removed from.

use fechatter_events::{ChatId, UserId, WorkspaceId};
use sqlx::PgExecutor;

use crate::db::timed;
use crate::models::User;

/// Those of `ids` that are bots.
pub async fn among(db: impl PgExecutor<'_>, ids: &[UserId]) -> Result<Vec<UserId>, sqlx::Error> {
    timed(
        "users.bots_among",
        sqlx::query_scalar("SELECT id FROM users WHERE id = ANY($1) AND is_bot ORDER BY id")
            .bind(ids)
            .fetch_all(db),
    )
    .await
}

/// The handle `@bot` mentions match; fechatter_server keeps it from humans.
pub const HANDLE: &str = "bot";
pub const FULLNAME: &str = "Assistant";

/// Gives `workspace` its assistant bot unless it has one (at most one per workspace: a unique
/// index); nothing when the workspace does not exist.
pub async fn create(db: impl PgExecutor<'_>, workspace: WorkspaceId) -> Result<(), sqlx::Error> {
    timed(
        "users.bot_create",
        sqlx::query(
            "INSERT INTO users (workspace_id, fullname, handle, is_bot)
             SELECT id, $2, $3, true FROM workspaces WHERE id = $1
             ON CONFLICT DO NOTHING",
        )
        .bind(workspace)
        .bind(FULLNAME)
        .bind(HANDLE)
        .execute(db),
    )
    .await
    .map(|_| ())
}

/// The workspace's assistant bot, created on bot_server's request (`POST /api/bots/provision`).
pub async fn of_workspace(
    db: impl PgExecutor<'_>,
    workspace: WorkspaceId,
) -> Result<Option<User>, sqlx::Error> {
    timed(
        "users.bot_of_workspace",
        sqlx::query_as::<_, User>(
            "SELECT id, workspace_id, fullname, handle, email, is_bot, workspace_role, created_at
             FROM users WHERE workspace_id = $1 AND is_bot",
        )
        .bind(workspace)
        .fetch_optional(db),
    )
    .await
}

/// Remembers that `user`, if a bot, was removed from `chat` by `by`.
pub async fn record_removal(
    db: impl PgExecutor<'_>,
    chat: ChatId,
    user: UserId,
    by: UserId,
) -> Result<(), sqlx::Error> {
    timed(
        "chat_bot_removals.insert",
        sqlx::query(
            "INSERT INTO chat_bot_removals (chat_id, bot_id, removed_by)
             SELECT $1, id, $3 FROM users WHERE id = $2 AND is_bot
             ON CONFLICT (chat_id, bot_id)
             DO UPDATE SET removed_by = EXCLUDED.removed_by, removed_at = now()",
        )
        .bind(chat)
        .bind(user)
        .bind(by)
        .execute(db),
    )
    .await
    .map(|_| ())
}

/// Forgets a removal: `user` was added back deliberately.
pub async fn clear_removal(
    db: impl PgExecutor<'_>,
    chat: ChatId,
    user: UserId,
) -> Result<(), sqlx::Error> {
    timed(
        "chat_bot_removals.delete",
        sqlx::query("DELETE FROM chat_bot_removals WHERE chat_id = $1 AND bot_id = $2")
            .bind(chat)
            .bind(user)
            .execute(db),
    )
    .await
    .map(|_| ())
}

/// Whether `bot` was removed from `chat` and not added back since.
pub async fn was_removed(
    db: impl PgExecutor<'_>,
    chat: ChatId,
    bot: UserId,
) -> Result<bool, sqlx::Error> {
    timed(
        "chat_bot_removals.find",
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM chat_bot_removals WHERE chat_id = $1 AND bot_id = $2)",
        )
        .bind(chat)
        .bind(bot)
        .fetch_one(db),
    )
    .await
}
