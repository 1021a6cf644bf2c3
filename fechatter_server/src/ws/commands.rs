//! The client commands, run with the same rules as their HTTP routes.

use fechatter_events::payload::Typing;
use fechatter_events::{ChatId, EphemeralKind, UserId};
use tracing::instrument;

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::models::message::SendMessage;
use crate::rate_limit::Limit;
use crate::service;
use crate::service::access;
use crate::state::AppState;
use crate::ws::protocol::{
    self, AckResult, Command, MarkReadCommand, SendMessageCommand, SentMessage, TypingAck,
};

/// The route sends over the socket are counted under in `fechatter_rate_limited_total`.
pub const ROUTE: &str = "/api/ws";

/// Runs one text frame and returns the frame to answer with.
pub async fn run(
    state: &AppState,
    caller: &CurrentUser,
    text: &str,
) -> axum::extract::ws::Utf8Bytes {
    let (id, command) = protocol::parse(text);
    let result = match command {
        Ok(Command::SendMessage(command)) => send_message(state, caller, command).await,
        Ok(Command::Typing(command)) => typing(state, caller, command.chat_id).await,
        Ok(Command::MarkRead(command)) => mark_read(state, caller, command).await,
        Err(err) => Err(err),
    };
    match result {
        Ok(result) => protocol::ack(id.as_deref(), &result),
        Err(err) => protocol::error(id.as_deref(), err),
    }
}

async fn send_message(
    state: &AppState,
    caller: &CurrentUser,
    command: SendMessageCommand,
) -> Result<AckResult, AppError> {
    state.limiters().check_user(Limit::Send, caller.id, ROUTE)?;
    let key = command
        .idempotency_key
        .as_deref()
        .map(service::idempotency::check_key)
        .transpose()?;
    let input = SendMessage {
        content: command.content,
        reply_to: command.reply_to,
        files: command.files,
    };
    let (message, created) =
        service::messages::send(state, caller, command.chat_id, input, key).await?;
    Ok(AckResult::Sent(Box::new(SentMessage {
        message,
        replayed: !created,
    })))
}

/// Publishes an ephemeral typing signal to the chat's other members, at most once per throttle
/// interval per user and chat.
#[instrument(skip_all, fields(user = %caller.id, chat = %chat_id))]
async fn typing(
    state: &AppState,
    caller: &CurrentUser,
    chat_id: ChatId,
) -> Result<AckResult, AppError> {
    let (chat, _) = access::membership(state, caller, chat_id).await?;
    if !state.sockets().typing_allowed(caller.id, chat_id) {
        return Ok(AckResult::Typing(TypingAck { published: false }));
    }
    let recipients: Vec<UserId> = chat
        .members
        .keys()
        .copied()
        .filter(|member| *member != caller.id)
        .collect();
    let signal = Typing {
        workspace_id: caller.workspace_id,
        chat_id,
        user_id: caller.id,
        recipients,
        occurred_at: chrono::Utc::now(),
    };
    let payload = serde_json::to_vec(&signal).map_err(AppError::internal)?;
    let subject = state.event_bus().ephemeral_subject(EphemeralKind::Typing);
    state
        .nats()
        .publish(subject, payload.into())
        .await
        .map_err(|err| AppError::DependencyUnavailable(format!("NATS: {err}")))?;
    Ok(AckResult::Typing(TypingAck { published: true }))
}

async fn mark_read(
    state: &AppState,
    caller: &CurrentUser,
    command: MarkReadCommand,
) -> Result<AckResult, AppError> {
    let read =
        service::reactions::mark_read(state, caller, command.chat_id, command.message_id).await?;
    Ok(AckResult::Read(read))
}
