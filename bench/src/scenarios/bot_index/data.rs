//! The messages the bot indexes (rows of `messages`, because the index references them), their
//! `message.created` envelopes as fechatter's outbox writes them, and the poller that sees each
//! one appear in `search_documents`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use fechatter_events::payload::MessagePayload;
use fechatter_events::{ChatId, ChatType, Envelope, MessageId, UserId, WorkspaceId};
use sqlx::PgPool;

use super::publish::Event;
use crate::seed::{CONTENT, Seeded};

/// How often the index is read while measuring lag: a lag is known to within this (plus the
/// query's own time).
pub const POLL: Duration = Duration::from_millis(20);

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Message {
    pub id: i64,
    pub chat_id: i64,
    pub sender_id: i64,
    pub content: String,
    pub created_at: DateTime<Utc>,
}

/// `count` messages spread over the seeded chats in turn, each sent by a member of its chat; in
/// id order.
pub async fn messages(pool: &PgPool, seeded: &Seeded, count: i64) -> anyhow::Result<Vec<Message>> {
    let (chats, senders): (Vec<i64>, Vec<i64>) = seeded
        .chats
        .iter()
        .map(|&chat| {
            let sender = seeded.users.iter().find(|u| u.chat == chat).map(|u| u.id);
            (chat, sender.unwrap_or_default())
        })
        .unzip();
    let mut rows: Vec<Message> = sqlx::query_as(
        "INSERT INTO messages (chat_id, sender_id, content)
         SELECT ($2::bigint[])[1 + g % cardinality($2)], ($3::bigint[])[1 + g % cardinality($3)],
                $4 || ' #' || g
         FROM generate_series(1, $1) AS g
         RETURNING id, chat_id, sender_id, content, created_at",
    )
    .bind(count)
    .bind(&chats)
    .bind(&senders)
    .bind(CONTENT)
    .fetch_all(pool)
    .await
    .with_context(|| format!("seeding {count} messages"))?;
    rows.sort_unstable_by_key(|m| m.id);
    Ok(rows)
}

/// Each message's `message.created` envelope (recipients: its chat's members), as JSON.
pub fn envelopes(seeded: &Seeded, messages: &[Message]) -> anyhow::Result<Vec<Event>> {
    let mut members: HashMap<i64, Vec<UserId>> = HashMap::new();
    for user in &seeded.users {
        members.entry(user.chat).or_default().push(UserId(user.id));
    }
    messages
        .iter()
        .map(|message| {
            let payload = MessagePayload {
                id: MessageId(message.id),
                chat_id: ChatId(message.chat_id),
                chat_type: ChatType::Group,
                sender_id: UserId(message.sender_id),
                sender_is_bot: false,
                content: message.content.clone(),
                reply_to: None,
                mentions: Vec::new(),
                silenced_mentions: Vec::new(),
                files: Vec::new(),
                created_at: message.created_at,
                edited_at: None,
            };
            let envelope = Envelope::new(
                WorkspaceId(seeded.workspace),
                Some(ChatId(message.chat_id)),
                Some(UserId(message.sender_id)),
                members.get(&message.chat_id).cloned().unwrap_or_default(),
                &fechatter_events::Event::MessageCreated(payload.clone()),
            )?;
            Ok((Bytes::from(envelope.to_json()?), envelope.id.to_string()))
        })
        .collect()
}

/// Past this without a new row in the index, the rows still missing count as lost.
pub const STALL: Duration = Duration::from_secs(30);

/// Reads the index every [`POLL`] until every one of `ids` (ascending) is in it, or no new row
/// appeared for [`STALL`] after `published_by`, or `deadline` passes; when each was first seen.
/// Each read asks only for ids from the lowest one not yet seen, so it returns about the rows
/// written since the previous read.
pub async fn watch(
    pool: &PgPool,
    ids: &[i64],
    published_by: Instant,
    deadline: Instant,
) -> anyhow::Result<Vec<Option<Instant>>> {
    let mut seen: Vec<Option<Instant>> = vec![None; ids.len()];
    let (Some(&last), mut low) = (ids.last(), 0) else {
        return Ok(seen);
    };
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut progress = Instant::now();
    while low < ids.len() && Instant::now() < deadline {
        if Instant::now() > published_by.max(progress) + STALL {
            break;
        }
        tick.tick().await;
        let found: Vec<i64> = sqlx::query_scalar(
            "SELECT message_id FROM search_documents WHERE message_id BETWEEN $1 AND $2",
        )
        .bind(ids[low])
        .bind(last)
        .fetch_all(pool)
        .await?;
        let now = Instant::now();
        for id in found {
            if let Ok(index) = ids.binary_search(&id)
                && seen[index].is_none()
            {
                seen[index] = Some(now);
                progress = now;
            }
        }
        while low < ids.len() && seen[low].is_some() {
            low += 1;
        }
    }
    Ok(seen)
}
