//! The client commands, run with the same rules as their HTTP routes.

use fechatter_events::ChatId;

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::models::message::SendMessage;
use crate::rate_limit::Limit;
use crate::service;
use crate::ws::Context;
use crate::ws::protocol::{
    self, AckResult, Command, MarkReadCommand, SendMessageCommand, SentMessage, TypingAck,
};

/// The route sends over the socket are counted under in `fechatter_rate_limited_total`.
pub const ROUTE: &str = crate::auth::WEBSOCKET_ROUTE;

/// Runs one text frame and returns the frame to answer with.
pub async fn run(ctx: &Context, caller: &CurrentUser, text: &str) -> axum::extract::ws::Utf8Bytes {
    let (id, command) = protocol::parse(text);
    let result = match command {
        Ok(Command::SendMessage(command)) => send_message(ctx, caller, command).await,
        Ok(Command::Typing(command)) => typing(ctx, caller, command.chat_id).await,
        Ok(Command::MarkRead(command)) => mark_read(ctx, caller, command).await,
        Err(err) => Err(err),
    };
    match result {
        Ok(result) => protocol::ack(id.as_deref(), &result),
        Err(err) => protocol::error(id.as_deref(), err),
    }
}

async fn send_message(
    ctx: &Context,
    caller: &CurrentUser,
    command: SendMessageCommand,
) -> Result<AckResult, AppError> {
    ctx.limiters.check_user(Limit::Send, caller.id, ROUTE)?;
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
        service::messages::send(&ctx.deps, caller, command.chat_id, input, key).await?;
    Ok(AckResult::Sent(Box::new(SentMessage {
        message,
        replayed: !created,
    })))
}

/// Publishes a typing signal exactly as `POST /api/chats/{id}/typing` does, under the sockets'
/// own throttle.
async fn typing(
    ctx: &Context,
    caller: &CurrentUser,
    chat_id: ChatId,
) -> Result<AckResult, AppError> {
    let throttle = ctx.sockets.typing();
    let published =
        service::typing::signal(&ctx.deps, throttle, &ctx.nats, caller, chat_id).await?;
    Ok(AckResult::Typing(TypingAck { published }))
}

async fn mark_read(
    ctx: &Context,
    caller: &CurrentUser,
    command: MarkReadCommand,
) -> Result<AckResult, AppError> {
    let read =
        service::reactions::mark_read(&ctx.deps, caller, command.chat_id, command.message_id)
            .await?;
    Ok(AckResult::Read(read))
}
