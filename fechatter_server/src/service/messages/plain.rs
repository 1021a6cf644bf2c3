//! A plain message's send: no reply, files or mentions, so the message and its event are written
//! by one statement.

use std::time::Instant;

use fechatter_events::Event as DomainEvent;
use fechatter_events::payload::MessagePayload;
use fechatter_events::{ChatId, ChatType, MessageId, UserId, WorkspaceId};

use super::replay;
use crate::auth::CurrentUser;
use crate::deps::Deps;
use crate::error::AppError;
use crate::models::Message;
use crate::observability::metrics::MessageMetrics;
use crate::repo::sends::batch::PlainSend;
use crate::service::access::role_in;
use crate::service::events::{self, Event};

/// What a plain message's send knows besides its text.
pub struct Plain<'a> {
    pub chat_type: ChatType,
    pub sender_is_bot: bool,
    pub integration: Option<&'a str>,
    pub idempotency_key: Option<&'a str>,
}

/// A message that is no reply and has no files or mentions: nothing is written but the message
/// and its event, so both go in one statement that commits on its own, beside the other plain
/// sends waiting then (`send_queue`). Same checks and outcome as the transaction of `store`: the
/// membership read with the insert, the idempotency key's original returned, the chat's order
/// lock before the id and the event's sequence are drawn.
pub(super) async fn store_plain(
    deps: &Deps,
    caller: &CurrentUser,
    chat_id: ChatId,
    content: String,
    plain: Plain<'_>,
    started: Instant,
) -> Result<(Message, bool), AppError> {
    let send = plain_send(caller.workspace_id, caller.id, chat_id, content, &plain)?;
    let sent = deps.sends().write(send).await?;
    role_in(&sent.members, caller.id).ok_or(AppError::NotFound("chat"))?;
    let Some(row) = sent.row else {
        return replay(deps, caller, chat_id, plain.idempotency_key).await;
    };
    events::page_change_committed(deps, chat_id);
    MessageMetrics::sent(plain.chat_type, started.elapsed());
    Ok((Message::from_row(row, Vec::new(), Vec::new()), true))
}

/// The plain message `sender` sends to `chat_id`, with its `message.created` event, as the send
/// queue takes it: the event's `id`, `created_at` and recipients are the statement's to fill in.
pub fn plain_send(
    workspace_id: WorkspaceId,
    sender: UserId,
    chat_id: ChatId,
    content: String,
    plain: &Plain<'_>,
) -> Result<PlainSend, AppError> {
    let envelope = events::envelope(Event {
        workspace_id,
        chat_id: Some(chat_id),
        actor_id: Some(sender),
        recipients: Vec::new(),
        event: DomainEvent::MessageCreated(MessagePayload {
            id: MessageId(0),
            chat_id,
            chat_type: plain.chat_type,
            sender_id: sender,
            sender_is_bot: plain.sender_is_bot,
            content: content.clone(),
            reply_to: None,
            mentions: Vec::new(),
            silenced_mentions: Vec::new(),
            files: Vec::new(),
            created_at: chrono::DateTime::UNIX_EPOCH,
            edited_at: None,
        }),
    })?;
    Ok(PlainSend {
        chat_id,
        sender_id: sender,
        content,
        integration: plain.integration.map(str::to_owned),
        idempotency_key: plain.idempotency_key.map(str::to_owned),
        event_id: envelope.id,
        envelope: serde_json::to_string(&envelope).map_err(AppError::internal)?,
    })
}
