//! Sending, listing, editing and deleting messages.

use std::collections::HashMap;
use std::time::Instant;

use fechatter_events::Event as DomainEvent;
use fechatter_events::payload::{MessageDeleted, MessagePayload};
use fechatter_events::{ChatId, ChatType, MessageId, UserId};
use sqlx::PgExecutor;
use tracing::instrument;

use crate::auth::CurrentUser;
use crate::db;
use crate::deps::Deps;
use crate::error::AppError;
use crate::models::Message;
use crate::models::file::FileInfo;
use crate::models::message::{MessageRow, ReactionCount, SendMessage};
use crate::models::thread::ThreadSummary;
use crate::observability::metrics::MessageMetrics;
use crate::repo;
use crate::repo::messages::NewMessage;
use crate::service::access::{ids, role_in};
use crate::service::events::{self, Event};
use crate::service::{access, assistant, files, handles, threads, users};

mod plain;

use plain::store_plain;
pub use plain::{Plain, plain_send};

/// Non-blank and within the configured length, counted in characters.
fn content(deps: &Deps, text: &str) -> Result<(), AppError> {
    if text.trim().is_empty() {
        return Err(AppError::invalid(
            "empty_content",
            "a message cannot be empty",
        ));
    }
    let max = deps.config().limits.max_message_chars;
    if text.chars().count() > max {
        return Err(AppError::invalid(
            "content_too_long",
            format!("a message has at most {max} characters"),
        ));
    }
    Ok(())
}

/// The workspace users `text` mentions by handle.
async fn mentions(
    db: impl PgExecutor<'_>,
    caller: &CurrentUser,
    text: &str,
) -> Result<Vec<UserId>, AppError> {
    let handles = handles::mentioned(text);
    if handles.is_empty() {
        return Ok(Vec::new());
    }
    Ok(repo::users::ids_by_handles(db, caller.workspace_id, &handles).await?)
}

fn payload(
    row: &MessageRow,
    chat_type: ChatType,
    sender_is_bot: bool,
    mentions: Vec<UserId>,
) -> MessagePayload {
    MessagePayload {
        id: row.id,
        chat_id: row.chat_id,
        chat_type,
        sender_id: row.sender_id,
        sender_is_bot,
        content: row.content.clone(),
        reply_to: row.reply_to,
        mentions,
        silenced_mentions: Vec::new(),
        files: Vec::new(),
        created_at: row.created_at,
        edited_at: row.edited_at,
    }
}

/// Stores a message and its `message.created` event. With an idempotency key the sender already
/// used in this chat, the original message is returned (`created` false) and nothing is written.
#[instrument(skip_all, fields(user = %caller.id, chat = %chat_id))]
pub async fn send(
    deps: &Deps,
    caller: &CurrentUser,
    chat_id: ChatId,
    input: SendMessage,
    idempotency_key: Option<&str>,
) -> Result<(Message, bool), AppError> {
    store(deps, caller, chat_id, input, idempotency_key, None).await
}

/// Stores a message an integration posted through an incoming webhook, in the name of the
/// webhook's creator (`caller`), exactly as they would send it.
#[instrument(skip_all, fields(user = %caller.id, chat = %chat_id))]
pub async fn send_as_integration(
    deps: &Deps,
    caller: &CurrentUser,
    chat_id: ChatId,
    content: String,
    integration: &str,
) -> Result<Message, AppError> {
    let input = SendMessage {
        content,
        reply_to: None,
        files: Vec::new(),
    };
    let (message, _) = store(deps, caller, chat_id, input, None, Some(integration)).await?;
    Ok(message)
}

async fn store(
    deps: &Deps,
    caller: &CurrentUser,
    chat_id: ChatId,
    input: SendMessage,
    idempotency_key: Option<&str>,
    integration: Option<&str>,
) -> Result<(Message, bool), AppError> {
    let started = Instant::now();
    files::check_count(&deps.config().limits, &input.files)?;
    content(deps, &input.content)?;
    let (chat, _) = access::membership(deps, caller, chat_id).await?;
    let sender = users::current(deps, caller).await?;
    if input.reply_to.is_none()
        && input.files.is_empty()
        && handles::mentioned(&input.content).is_empty()
    {
        let plain = Plain {
            chat_type: chat.chat_type,
            sender_is_bot: sender.is_bot,
            integration,
            idempotency_key,
        };
        return store_plain(deps, caller, chat_id, input.content, plain, started).await;
    }

    let mut tx = db::begin(deps.pool()).await?;
    let thread_root_id = match input.reply_to {
        Some(reply_to) => Some(
            repo::threads::root_for_reply(&mut *tx, chat_id, reply_to)
                .await?
                .ok_or_else(|| {
                    AppError::invalid("invalid_reply_to", "reply_to is not a message of this chat")
                })?,
        ),
        None => None,
    };
    let file_ids = files::attachable(&mut *tx, caller, &input.files).await?;
    // One round trip: the members (the event's recipients), the chat's order lock (sends to one
    // chat commit in the order of their message ids and events from here on) and the insert.
    let sent = repo::sends::insert_as_member(
        &mut *tx,
        NewMessage {
            chat_id,
            sender_id: caller.id,
            content: &input.content,
            reply_to: input.reply_to,
            thread_root_id,
            integration,
            idempotency_key,
        },
    )
    .await?;
    let mut members = sent.members;
    role_in(&members, caller.id).ok_or(AppError::NotFound("chat"))?;
    let Some(row) = sent.row else {
        drop(tx);
        return replay(deps, caller, chat_id, idempotency_key).await;
    };
    let mentioned = mentions(&mut *tx, caller, &row.content).await?;
    repo::messages::insert_mentions(&mut *tx, chat_id, row.id, &mentioned).await?;
    let bot_joined =
        assistant::join_if_mentioned(&mut tx, deps, caller, &chat, &mut members, &mentioned)
            .await?;
    repo::files::attach(&mut *tx, chat_id, row.id, &file_ids).await?;
    let mut data = payload(&row, chat.chat_type, sender.is_bot, mentioned.clone());
    data.silenced_mentions = repo::statuses::in_dnd(&mut *tx, &mentioned).await?;
    data.files = file_ids;
    events::record(
        &mut *tx,
        Event {
            workspace_id: caller.workspace_id,
            chat_id: Some(chat_id),
            actor_id: Some(caller.id),
            recipients: ids(&members),
            event: DomainEvent::MessageCreated(data.clone()),
        },
    )
    .await?;
    // After `message.created`: followers learn of the thread change once the reply exists.
    if let Some(root) = thread_root_id {
        threads::record_reply(&mut tx, caller, &ids(&members), root, &row, &mentioned).await?;
    }
    let attached = attached_files(&mut *tx, &data.files, row.id).await?;
    events::commit_page_change(deps, tx, chat_id).await?;
    if bot_joined {
        access::forget_chat(deps, chat_id).await;
    }
    MessageMetrics::sent(chat.chat_type, started.elapsed());
    Ok((
        Message::from_row(row, mentioned, Vec::new()).with_files(attached),
        true,
    ))
}

/// The files just attached to a new message (no query when there are none).
async fn attached_files(
    db: impl PgExecutor<'_>,
    file_ids: &[fechatter_events::FileId],
    message: MessageId,
) -> Result<Vec<FileInfo>, AppError> {
    if file_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = repo::files::of_messages(db, &[message]).await?;
    Ok(rows.into_iter().map(|row| row.file.into()).collect())
}

/// The message an idempotency key already produced.
async fn replay(
    deps: &Deps,
    caller: &CurrentUser,
    chat_id: ChatId,
    idempotency_key: Option<&str>,
) -> Result<(Message, bool), AppError> {
    let key = idempotency_key.ok_or_else(|| AppError::internal("insert skipped without a key"))?;
    let original = repo::messages::find_by_idempotency_key(deps.pool(), caller.id, key)
        .await?
        .ok_or_else(|| AppError::internal("idempotent message vanished"))?;
    if original.chat_id != chat_id {
        return Err(AppError::conflict(
            "idempotency_key_reused",
            "this Idempotency-Key was already used for another chat",
        ));
    }
    let mut views = with_details(deps, caller, vec![original]).await?;
    let message = views
        .pop()
        .ok_or_else(|| AppError::internal("no message view"))?;
    Ok((message, false))
}

/// Adds mentions and reaction counts (as `viewer` sees them) to message rows.
pub(crate) async fn with_details(
    deps: &Deps,
    viewer: &CurrentUser,
    rows: Vec<MessageRow>,
) -> Result<Vec<Message>, AppError> {
    let ids: Vec<MessageId> = rows.iter().map(|row| row.id).collect();
    let mut mentions: HashMap<MessageId, Vec<UserId>> = HashMap::new();
    for (message, user) in repo::messages::mentions_of(deps.pool(), &ids).await? {
        mentions.entry(message).or_default().push(user);
    }
    let mut reactions: HashMap<MessageId, Vec<ReactionCount>> = HashMap::new();
    for count in repo::reactions::counts(deps.pool(), &ids, viewer.id).await? {
        reactions.entry(count.message_id).or_default().push(count);
    }
    let threads: HashMap<MessageId, ThreadSummary> = repo::threads::summaries(deps.pool(), &ids)
        .await?
        .into_iter()
        .map(|summary| (summary.root_id, summary))
        .collect();
    let mut attached: HashMap<MessageId, Vec<FileInfo>> = HashMap::new();
    for row in repo::files::of_messages(deps.pool(), &ids).await? {
        attached
            .entry(row.message_id)
            .or_default()
            .push(row.file.into());
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let id = row.id;
            Message::from_row(
                row,
                mentions.remove(&id).unwrap_or_default(),
                reactions.remove(&id).unwrap_or_default(),
            )
            .with_files(attached.remove(&id).unwrap_or_default())
            .with_thread(threads.get(&id))
        })
        .collect())
}

/// Locks a live message of the chat for a change by its author; the chat's members are the
/// event's recipients.
async fn lock_own(
    tx: &mut sqlx::PgConnection,
    caller: &CurrentUser,
    chat_id: ChatId,
    message_id: MessageId,
) -> Result<(MessageRow, Vec<UserId>), AppError> {
    let members = repo::members::roles(&mut *tx, chat_id).await?;
    role_in(&members, caller.id).ok_or(AppError::NotFound("chat"))?;
    let row = repo::messages::lock_live(&mut *tx, chat_id, message_id)
        .await?
        .ok_or(AppError::NotFound("message"))?;
    if row.sender_id != caller.id {
        return Err(AppError::Forbidden("only its author may change a message"));
    }
    Ok((row, ids(&members)))
}

/// Replaces the message's text; the text it replaces joins the message's history.
#[instrument(skip_all, fields(user = %caller.id, chat = %chat_id, message = %message_id))]
pub async fn edit(
    deps: &Deps,
    caller: &CurrentUser,
    chat_id: ChatId,
    message_id: MessageId,
    text: String,
) -> Result<Message, AppError> {
    content(deps, &text)?;
    let (chat, _) = access::membership(deps, caller, chat_id).await?;
    let sender = users::current(deps, caller).await?;
    let mut tx = db::begin(deps.pool()).await?;
    let (previous, recipients) = lock_own(&mut tx, caller, chat_id, message_id).await?;
    let written_at = previous.edited_at.unwrap_or(previous.created_at);
    repo::edits::insert(&mut *tx, message_id, &previous.content, written_at).await?;
    let row = repo::messages::update_content(&mut *tx, message_id, &text).await?;
    let mentioned = mentions(&mut *tx, caller, &row.content).await?;
    repo::messages::delete_mentions(&mut *tx, message_id).await?;
    repo::messages::insert_mentions(&mut *tx, chat_id, message_id, &mentioned).await?;
    threads::follow_mentioned(&mut tx, &recipients, &row, &mentioned).await?;
    let silenced_mentions = repo::statuses::in_dnd(&mut *tx, &mentioned).await?;
    let mut data = payload(&row, chat.chat_type, sender.is_bot, mentioned);
    data.silenced_mentions = silenced_mentions;
    data.files = repo::files::of_messages(&mut *tx, &[message_id])
        .await?
        .into_iter()
        .map(|attached| attached.file.id)
        .collect();
    events::record(
        &mut *tx,
        Event {
            workspace_id: caller.workspace_id,
            chat_id: Some(chat_id),
            actor_id: Some(caller.id),
            recipients,
            event: DomainEvent::MessageUpdated(data.clone()),
        },
    )
    .await?;
    events::commit_page_change(deps, tx, chat_id).await?;
    let mut views = with_details(deps, caller, vec![row]).await?;
    views
        .pop()
        .ok_or_else(|| AppError::internal("no message view"))
}

/// Deletes the message: its text, earlier versions, mentions and pin go with it.
#[instrument(skip_all, fields(user = %caller.id, chat = %chat_id, message = %message_id))]
pub async fn delete(
    deps: &Deps,
    caller: &CurrentUser,
    chat_id: ChatId,
    message_id: MessageId,
) -> Result<(), AppError> {
    access::membership(deps, caller, chat_id).await?;
    let mut tx = db::begin(deps.pool()).await?;
    let (row, recipients) = lock_own(&mut tx, caller, chat_id, message_id).await?;
    repo::messages::soft_delete(&mut *tx, message_id).await?;
    threads::record_reply_deleted(&mut tx, caller, &recipients, &row).await?;
    repo::edits::delete_all(&mut *tx, message_id).await?;
    repo::pins::delete(&mut *tx, message_id).await?;
    repo::messages::delete_mentions(&mut *tx, message_id).await?;
    events::record(
        &mut *tx,
        Event {
            workspace_id: caller.workspace_id,
            chat_id: Some(chat_id),
            actor_id: Some(caller.id),
            recipients,
            event: DomainEvent::MessageDeleted(MessageDeleted {
                id: message_id,
                chat_id,
            }),
        },
    )
    .await?;
    events::commit_page_change(deps, tx, chat_id).await?;
    Ok(())
}
