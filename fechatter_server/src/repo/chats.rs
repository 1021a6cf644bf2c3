use fechatter_events::{ChatId, ChatType, UserId, WorkspaceId};
use sqlx::PgExecutor;

use crate::db::timed;
use crate::models::chat::{ChatRow, PublicChannel};
use crate::models::{Chat, PageRequest};

const ROW_COLUMNS: &str = "id, workspace_id, chat_type, name, description, owner_id, created_at";

/// A chat as member `$1` sees it, with the unread and mention counts of `models::Chat`.
const MEMBER_VIEW: &str = "
SELECT c.id, c.workspace_id, c.chat_type, c.name, c.description, c.owner_id, c.created_at,
       c.updated_at, cm.role, cm.last_read_message_id,
       (SELECT count(*) FROM chat_members x WHERE x.chat_id = c.id) AS member_count,
       (SELECT count(*) FROM messages m
         WHERE m.chat_id = c.id AND m.id > COALESCE(cm.last_read_message_id, 0)
           AND m.sender_id <> cm.user_id AND m.deleted_at IS NULL) AS unread_count,
       (SELECT count(*) FROM mentions mn JOIN messages m ON m.id = mn.message_id
         WHERE mn.user_id = cm.user_id AND mn.chat_id = c.id
           AND mn.message_id > COALESCE(cm.last_read_message_id, 0)
           AND m.sender_id <> cm.user_id AND m.deleted_at IS NULL) AS mention_count,
       (SELECT COALESCE(sum(t.reply_count), 0)::bigint FROM message_threads t
         WHERE t.chat_id = c.id) AS reply_count,
       (SELECT max(t.last_reply_at) FROM message_threads t WHERE t.chat_id = c.id) AS last_reply_at,
       (SELECT count(*) FROM thread_followers f
         JOIN messages r ON r.thread_root_id = f.root_id
          AND r.id > COALESCE(f.last_read_reply_id, 0)
          AND r.sender_id <> f.user_id AND r.deleted_at IS NULL
         WHERE f.user_id = cm.user_id AND f.chat_id = c.id) AS thread_unread_count
FROM chat_members cm JOIN chats c ON c.id = cm.chat_id
WHERE cm.user_id = $1";

pub struct NewChat<'a> {
    pub workspace_id: WorkspaceId,
    pub chat_type: ChatType,
    pub name: Option<&'a str>,
    pub description: Option<&'a str>,
    pub owner_id: UserId,
    /// The two users of a direct chat, lower id first.
    pub direct_pair: Option<(UserId, UserId)>,
}

/// Inserts the chat; `None` when it is a direct chat that already exists for this pair.
pub async fn insert(
    db: impl PgExecutor<'_>,
    chat: NewChat<'_>,
) -> Result<Option<ChatRow>, sqlx::Error> {
    let sql = format!(
        "INSERT INTO chats (workspace_id, chat_type, name, description, owner_id, direct_low, direct_high)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (workspace_id, direct_low, direct_high) WHERE chat_type = 'direct' DO NOTHING
         RETURNING {ROW_COLUMNS}"
    );
    timed(
        "chats.insert",
        sqlx::query_as::<_, ChatRow>(&sql)
            .bind(chat.workspace_id)
            .bind(chat.chat_type)
            .bind(chat.name)
            .bind(chat.description)
            .bind(chat.owner_id)
            .bind(chat.direct_pair.map(|(low, _)| low))
            .bind(chat.direct_pair.map(|(_, high)| high))
            .fetch_optional(db),
    )
    .await
}

pub async fn find_direct(
    db: impl PgExecutor<'_>,
    workspace: WorkspaceId,
    (low, high): (UserId, UserId),
) -> Result<Option<ChatRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {ROW_COLUMNS} FROM chats
         WHERE workspace_id = $1 AND chat_type = 'direct' AND direct_low = $2 AND direct_high = $3"
    );
    timed(
        "chats.find_direct",
        sqlx::query_as::<_, ChatRow>(&sql)
            .bind(workspace)
            .bind(low)
            .bind(high)
            .fetch_optional(db),
    )
    .await
}

pub async fn find(db: impl PgExecutor<'_>, id: ChatId) -> Result<Option<ChatRow>, sqlx::Error> {
    let sql = format!("SELECT {ROW_COLUMNS} FROM chats WHERE id = $1");
    timed(
        "chats.find",
        sqlx::query_as::<_, ChatRow>(&sql)
            .bind(id)
            .fetch_optional(db),
    )
    .await
}

/// Locks the chat row so membership changes and deletion of one chat happen one at a time.
pub async fn lock(db: impl PgExecutor<'_>, id: ChatId) -> Result<Option<ChatRow>, sqlx::Error> {
    let sql = format!("SELECT {ROW_COLUMNS} FROM chats WHERE id = $1 FOR UPDATE");
    timed(
        "chats.lock",
        sqlx::query_as::<_, ChatRow>(&sql)
            .bind(id)
            .fetch_optional(db),
    )
    .await
}

/// Sets the name and/or description; `None` leaves a field as it is.
pub async fn update(
    db: impl PgExecutor<'_>,
    id: ChatId,
    name: Option<&str>,
    description: Option<&str>,
) -> Result<ChatRow, sqlx::Error> {
    let sql = format!(
        "UPDATE chats SET name = COALESCE($2, name), description = COALESCE($3, description),
                          updated_at = now()
         WHERE id = $1 RETURNING {ROW_COLUMNS}"
    );
    timed(
        "chats.update",
        sqlx::query_as::<_, ChatRow>(&sql)
            .bind(id)
            .bind(name)
            .bind(description)
            .fetch_one(db),
    )
    .await
}

pub async fn delete(db: impl PgExecutor<'_>, id: ChatId) -> Result<(), sqlx::Error> {
    timed(
        "chats.delete",
        sqlx::query("DELETE FROM chats WHERE id = $1")
            .bind(id)
            .execute(db),
    )
    .await
    .map(|_| ())
}

/// A page of the chats `user` is a member of, newest first.
pub async fn page_for_member(
    db: impl PgExecutor<'_>,
    user: UserId,
    page: PageRequest,
) -> Result<Vec<Chat>, sqlx::Error> {
    let sql =
        format!("{MEMBER_VIEW} AND ($2::bigint IS NULL OR c.id < $2) ORDER BY c.id DESC LIMIT $3");
    timed(
        "chats.page_for_member",
        sqlx::query_as::<_, Chat>(&sql)
            .bind(user)
            .bind(page.before)
            .bind(page.fetch_limit())
            .fetch_all(db),
    )
    .await
}

/// A page of the workspace's public channels, newest first, as `user` sees them.
pub async fn page_public(
    db: impl PgExecutor<'_>,
    workspace: WorkspaceId,
    user: UserId,
    page: PageRequest,
) -> Result<Vec<PublicChannel>, sqlx::Error> {
    timed(
        "chats.page_public",
        sqlx::query_as::<_, PublicChannel>(
            "SELECT c.id, c.name, c.description, c.owner_id, c.created_at,
                    (SELECT count(*) FROM chat_members x WHERE x.chat_id = c.id) AS member_count,
                    EXISTS (SELECT 1 FROM chat_members x WHERE x.chat_id = c.id AND x.user_id = $2)
                        AS joined
             FROM chats c
             WHERE c.workspace_id = $1 AND c.chat_type = 'public_channel'
               AND ($3::bigint IS NULL OR c.id < $3)
             ORDER BY c.id DESC LIMIT $4",
        )
        .bind(workspace)
        .bind(user)
        .bind(page.before)
        .bind(page.fetch_limit())
        .fetch_all(db),
    )
    .await
}

/// One chat as `user` sees it; `None` unless they are a member.
pub async fn find_for_member(
    db: impl PgExecutor<'_>,
    user: UserId,
    chat: ChatId,
) -> Result<Option<Chat>, sqlx::Error> {
    let sql = format!("{MEMBER_VIEW} AND c.id = $2");
    timed(
        "chats.find_for_member",
        sqlx::query_as::<_, Chat>(&sql)
            .bind(user)
            .bind(chat)
            .fetch_optional(db),
    )
    .await
}
