//! A send's one statement: the chat's members, its order lock and the insert, in a single round
//! trip (it used to take three: member roles, the lock, the insert). Plain messages are written
//! with their outbox rows, many at a time, by [`batch`].

use fechatter_events::{ChatId, UserId};
use sqlx::{FromRow, PgExecutor};

use crate::db::timed;
use crate::models::Role;
use crate::models::message::MessageRow;
use crate::repo::messages::NewMessage;
use crate::repo::outbox::CHAT_ORDER_LOCK;

/// What the send statement found and did.
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    /// The chat's members and roles, in id order, as the statement saw them.
    pub members: Vec<(UserId, Role)>,
    /// The new message; `None` when the sender is not a member (nothing was written) or already
    /// used this idempotency key.
    pub row: Option<MessageRow>,
}

#[derive(FromRow)]
struct SendRow {
    member_ids: Option<Vec<UserId>>,
    member_roles: Option<Vec<String>>,
    id: Option<fechatter_events::MessageId>,
    chat_id: Option<ChatId>,
    sender_id: Option<UserId>,
    content: Option<String>,
    reply_to: Option<fechatter_events::MessageId>,
    thread_root_id: Option<fechatter_events::MessageId>,
    integration: Option<String>,
    created_at: Option<chrono::DateTime<chrono::Utc>>,
    edited_at: Option<chrono::DateTime<chrono::Utc>>,
    deleted_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The statement's common part: the chat's order lock, its members, and the insert if the sender
/// is one of them and has not used the idempotency key. Parameters: $1 chat, $2 sender, $3 content,
/// $4 reply_to, $5 idempotency key, $6 the order lock's first key, $7 thread root, $8 integration.
macro_rules! send_ctes {
    () => {
        "WITH ordered AS MATERIALIZED (
             SELECT pg_advisory_xact_lock($6, ($1 % 2147483647)::int)
         ),
         members AS MATERIALIZED (
             SELECT user_id, role FROM chat_members WHERE chat_id = $1
         ),
         inserted AS (
             INSERT INTO messages
                 (chat_id, sender_id, content, reply_to, thread_root_id, integration,
                  idempotency_key)
             SELECT $1, $2, $3, $4, $7, $8, $5 FROM ordered
             WHERE EXISTS (SELECT 1 FROM members WHERE user_id = $2)
             ON CONFLICT (sender_id, idempotency_key) WHERE idempotency_key IS NOT NULL
             DO NOTHING
             RETURNING id, chat_id, sender_id, content, reply_to, thread_root_id,
                       integration, created_at, edited_at, deleted_at
         )"
    };
}

/// The statement's one result row: the members, and the new message if there is one.
macro_rules! send_result {
    () => {
        "
         SELECT (SELECT array_agg(user_id ORDER BY user_id) FROM members) AS member_ids,
                (SELECT array_agg(role::text ORDER BY user_id) FROM members) AS member_roles,
                inserted.*
         FROM (SELECT 1) AS one LEFT JOIN inserted ON true"
    };
}

/// `inserted.created_at` as chrono serialises a `DateTime<Utc>` (RFC 3339 in UTC with `Z`, and
/// 0, 3 or 6 fraction digits: as many as it takes), so an event says what the API returns.
macro_rules! created_at_text {
    () => {
        "to_char(inserted.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS')
         || CASE WHEN extract(microseconds FROM inserted.created_at)::bigint % 1000000 = 0 THEN ''
                 WHEN extract(microseconds FROM inserted.created_at)::bigint % 1000 = 0
                     THEN to_char(inserted.created_at AT TIME ZONE 'UTC', '.MS')
                 ELSE to_char(inserted.created_at AT TIME ZONE 'UTC', '.US') END
         || 'Z'"
    };
}

/// The expression of `created_at_text!`, for a test to hold it to chrono.
pub const CREATED_AT_TEXT: &str = created_at_text!();

pub mod batch;

/// Takes the chat's order lock (see `repo::outbox::CHAT_ORDER_LOCK`) and, if the sender is a
/// member, inserts the message: its id is drawn under the lock, so a chat's sends commit in id
/// order. The lock is held until the transaction ends.
pub async fn insert_as_member(
    db: impl PgExecutor<'_>,
    message: NewMessage<'_>,
) -> Result<Sent, sqlx::Error> {
    let row = timed(
        "messages.insert",
        sqlx::query_as::<_, SendRow>(concat!(send_ctes!(), send_result!()))
            .bind(message.chat_id)
            .bind(message.sender_id)
            .bind(message.content)
            .bind(message.reply_to)
            .bind(message.idempotency_key)
            .bind(CHAT_ORDER_LOCK)
            .bind(message.thread_root_id)
            .bind(message.integration)
            .fetch_one(db),
    )
    .await?;
    sent(row)
}

fn sent(row: SendRow) -> Result<Sent, sqlx::Error> {
    let ids = row.member_ids.unwrap_or_default();
    let roles = row.member_roles.unwrap_or_default();
    let members = ids
        .into_iter()
        .zip(roles)
        .map(|(id, role)| Ok((id, role_of(&role)?)))
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let message = match (
        row.id,
        row.chat_id,
        row.sender_id,
        row.content,
        row.created_at,
    ) {
        (Some(id), Some(chat_id), Some(sender_id), Some(content), Some(created_at)) => {
            Some(MessageRow {
                id,
                chat_id,
                sender_id,
                content,
                reply_to: row.reply_to,
                thread_root_id: row.thread_root_id,
                integration: row.integration,
                created_at,
                edited_at: row.edited_at,
                deleted_at: row.deleted_at,
            })
        }
        _ => None,
    };
    Ok(Sent {
        members,
        row: message,
    })
}

fn role_of(text: &str) -> Result<Role, sqlx::Error> {
    match text {
        "member" => Ok(Role::Member),
        "admin" => Ok(Role::Admin),
        "owner" => Ok(Role::Owner),
        other => Err(sqlx::Error::Decode(
            format!("unknown chat role {other:?}").into(),
        )),
    }
}
