//! Plain messages and their `message.created` outbox rows, any number in one statement that
//! commits on its own: concurrent sends share one commit, one plan and one round trip (the
//! commit's WAL flush and the statement's set-up were the largest parts of a send's Postgres CPU).
//! Each message keeps what the one-message statement gave it: the sender must be a member, its
//! id is drawn under its chat's order lock, its idempotency key is honoured, and its event is
//! written with the members read by the same statement.

use fechatter_events::{ChatId, EventId, UserId};
use sqlx::PgExecutor;

use super::{SendRow, Sent, sent};
use crate::db::timed;
use crate::repo::outbox::CHAT_ORDER_LOCK;

/// A plain message (no reply, files or mentions) and its event, ready to be written.
#[derive(Debug, Clone)]
pub struct PlainSend {
    pub chat_id: ChatId,
    pub sender_id: UserId,
    pub content: String,
    pub integration: Option<String>,
    pub idempotency_key: Option<String>,
    pub event_id: EventId,
    /// The `message.created` envelope as JSON text; the statement writes in its recipients (the
    /// members it read), `data.id` and `data.created_at` (as `CREATED_AT_TEXT`).
    pub envelope: String,
}

/// The statement (public for the benchmark's pgbench replay). The chats' order locks are taken
/// in chat order, so two batches never wait for each other in a cycle; the ids are drawn after
/// every lock is held (the lock subquery is an init plan, run before the first row), in the order
/// the sends were queued, and the outbox rows follow the same order.
pub const STATEMENT: &str = concat!(
    "WITH input AS MATERIALIZED (
         SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[],
                              $6::uuid[], $7::text[])
             WITH ORDINALITY
             AS t (chat_id, sender_id, content, integration, idempotency_key, event_id, envelope,
                   ord)
     ),
     ordered AS MATERIALIZED (
         SELECT pg_advisory_xact_lock($8, (chat_id % 2147483647)::int)
         FROM (SELECT DISTINCT chat_id FROM input ORDER BY chat_id) AS chats
     ),
     members AS MATERIALIZED (
         SELECT chat_id, user_id, role FROM chat_members
         WHERE chat_id IN (SELECT chat_id FROM input)
     ),
     numbered AS MATERIALIZED (
         SELECT input.*, nextval(pg_get_serial_sequence('messages', 'id')) AS id
         FROM input
         WHERE (SELECT count(*) FROM ordered) >= 0
           AND EXISTS (SELECT 1 FROM members
                       WHERE members.chat_id = input.chat_id
                         AND members.user_id = input.sender_id)
         ORDER BY ord
     ),
     inserted AS (
         INSERT INTO messages
             (id, chat_id, sender_id, content, integration, idempotency_key)
         OVERRIDING SYSTEM VALUE
         SELECT id, chat_id, sender_id, content, integration, idempotency_key
         FROM numbered ORDER BY ord
         ON CONFLICT (sender_id, idempotency_key) WHERE idempotency_key IS NOT NULL
         DO NOTHING
         RETURNING id, chat_id, sender_id, content, reply_to, thread_root_id,
                   integration, created_at, edited_at, deleted_at
     ),
     recorded AS (
         INSERT INTO outbox (event_id, kind, envelope)
         SELECT numbered.event_id, 'message.created',
                jsonb_set(jsonb_set(jsonb_set(numbered.envelope::jsonb,
                    '{recipients}',
                    (SELECT COALESCE(jsonb_agg(user_id ORDER BY user_id), '[]'::jsonb)
                     FROM members WHERE members.chat_id = numbered.chat_id)),
                    '{data,id}', to_jsonb(inserted.id)),
                    '{data,created_at}', to_jsonb(",
    created_at_text!(),
    "))
         FROM inserted JOIN numbered ON numbered.id = inserted.id
         ORDER BY numbered.ord
     )
     SELECT (SELECT array_agg(user_id ORDER BY user_id) FROM members
             WHERE members.chat_id = input.chat_id) AS member_ids,
            (SELECT array_agg(role::text ORDER BY user_id) FROM members
             WHERE members.chat_id = input.chat_id) AS member_roles,
            inserted.*
     FROM input
     LEFT JOIN numbered ON numbered.ord = input.ord
     LEFT JOIN inserted ON inserted.id = numbered.id
     ORDER BY input.ord"
);

/// Writes `sends` and their events in one autocommitted statement; what each found and did, in
/// the order of `sends`. Any error fails every send of the batch (nothing is written).
pub async fn insert_plain(
    db: impl PgExecutor<'_>,
    sends: &[PlainSend],
) -> Result<Vec<Sent>, sqlx::Error> {
    let column = |field: fn(&PlainSend) -> Option<&str>| -> Vec<Option<&str>> {
        sends.iter().map(field).collect()
    };
    let rows: Vec<SendRow> = timed(
        "messages.insert",
        sqlx::query_as(STATEMENT)
            .bind(sends.iter().map(|send| send.chat_id).collect::<Vec<_>>())
            .bind(sends.iter().map(|send| send.sender_id).collect::<Vec<_>>())
            .bind(column(|send| Some(&send.content)))
            .bind(column(|send| send.integration.as_deref()))
            .bind(column(|send| send.idempotency_key.as_deref()))
            .bind(sends.iter().map(|send| send.event_id).collect::<Vec<_>>())
            .bind(column(|send| Some(&send.envelope)))
            .bind(CHAT_ORDER_LOCK)
            .fetch_all(db),
    )
    .await?;
    if rows.len() != sends.len() {
        return Err(sqlx::Error::Protocol(format!(
            "a batch of {} sends returned {} rows",
            sends.len(),
            rows.len()
        )));
    }
    rows.into_iter().map(sent).collect()
}
