use fechatter_events::{ChatId, MessageId, UserId};
use sqlx::PgExecutor;

use crate::db::timed;
use crate::models::{Member, PageRequest, Role};

/// Adds members; each starts with everything already in the chat marked as read.
pub async fn insert_many(
    db: impl PgExecutor<'_>,
    chat: ChatId,
    members: &[(UserId, Role)],
) -> Result<(), sqlx::Error> {
    let users: Vec<UserId> = members.iter().map(|(user, _)| *user).collect();
    let roles: Vec<Role> = members.iter().map(|(_, role)| *role).collect();
    timed(
        "chat_members.insert",
        sqlx::query(
            "INSERT INTO chat_members (chat_id, user_id, role, last_read_message_id)
             SELECT $1, t.user_id, t.role,
                    (SELECT max(id) FROM messages WHERE chat_id = $1)
             FROM unnest($2::bigint[], $3::text[]) AS t(user_id, role)
             ON CONFLICT DO NOTHING",
        )
        .bind(chat)
        .bind(users)
        .bind(roles)
        .execute(db),
    )
    .await
    .map(|_| ())
}

/// Adds one member; false when they already were one.
pub async fn insert(
    db: impl PgExecutor<'_>,
    chat: ChatId,
    user: UserId,
    role: Role,
) -> Result<bool, sqlx::Error> {
    timed(
        "chat_members.insert",
        sqlx::query(
            "INSERT INTO chat_members (chat_id, user_id, role, last_read_message_id)
             VALUES ($1, $2, $3, (SELECT max(id) FROM messages WHERE chat_id = $1))
             ON CONFLICT DO NOTHING",
        )
        .bind(chat)
        .bind(user)
        .bind(role)
        .execute(db),
    )
    .await
    .map(|done| done.rows_affected() > 0)
}

pub async fn delete(
    db: impl PgExecutor<'_>,
    chat: ChatId,
    user: UserId,
) -> Result<bool, sqlx::Error> {
    timed(
        "chat_members.delete",
        sqlx::query("DELETE FROM chat_members WHERE chat_id = $1 AND user_id = $2")
            .bind(chat)
            .bind(user)
            .execute(db),
    )
    .await
    .map(|done| done.rows_affected() > 0)
}

/// Every member with their role, ordered by user id: the recipients of the chat's events.
pub async fn roles(
    db: impl PgExecutor<'_>,
    chat: ChatId,
) -> Result<Vec<(UserId, Role)>, sqlx::Error> {
    timed(
        "chat_members.roles",
        sqlx::query_as::<_, (UserId, Role)>(
            "SELECT user_id, role FROM chat_members WHERE chat_id = $1 ORDER BY user_id",
        )
        .bind(chat)
        .fetch_all(db),
    )
    .await
}

pub async fn page(
    db: impl PgExecutor<'_>,
    chat: ChatId,
    page: PageRequest,
) -> Result<Vec<Member>, sqlx::Error> {
    timed(
        "chat_members.page",
        sqlx::query_as::<_, Member>(
            "SELECT cm.user_id, u.fullname, u.handle, u.is_bot, cm.role, cm.joined_at
             FROM chat_members cm JOIN users u ON u.id = cm.user_id
             WHERE cm.chat_id = $1 AND ($2::bigint IS NULL OR cm.user_id < $2)
             ORDER BY cm.user_id DESC LIMIT $3",
        )
        .bind(chat)
        .bind(page.before)
        .bind(page.fetch_limit())
        .fetch_all(db),
    )
    .await
}

pub async fn find(
    db: impl PgExecutor<'_>,
    chat: ChatId,
    user: UserId,
) -> Result<Option<Member>, sqlx::Error> {
    timed(
        "chat_members.find",
        sqlx::query_as::<_, Member>(
            "SELECT cm.user_id, u.fullname, u.handle, u.is_bot, cm.role, cm.joined_at
             FROM chat_members cm JOIN users u ON u.id = cm.user_id
             WHERE cm.chat_id = $1 AND cm.user_id = $2",
        )
        .bind(chat)
        .bind(user)
        .fetch_optional(db),
    )
    .await
}

/// Moves the member's read marker forward to `message`; the new marker, or `None` when it was
/// already there or beyond (reads are monotonic).
pub async fn advance_read(
    db: impl PgExecutor<'_>,
    chat: ChatId,
    user: UserId,
    message: MessageId,
) -> Result<Option<MessageId>, sqlx::Error> {
    timed(
        "chat_members.advance_read",
        sqlx::query_scalar(
            "UPDATE chat_members SET last_read_message_id = $3
             WHERE chat_id = $1 AND user_id = $2
               AND (last_read_message_id IS NULL OR last_read_message_id < $3)
             RETURNING last_read_message_id",
        )
        .bind(chat)
        .bind(user)
        .bind(message)
        .fetch_optional(db),
    )
    .await
}

pub async fn last_read(
    db: impl PgExecutor<'_>,
    chat: ChatId,
    user: UserId,
) -> Result<Option<MessageId>, sqlx::Error> {
    timed(
        "chat_members.last_read",
        sqlx::query_scalar(
            "SELECT last_read_message_id FROM chat_members WHERE chat_id = $1 AND user_id = $2",
        )
        .bind(chat)
        .bind(user)
        .fetch_optional(db),
    )
    .await
    .map(Option::flatten)
}
