//! Threads: a reply joins the thread of its root; the thread's authors and the users mentioned in
//! it follow it and hear `thread.updated`; followers keep a read marker per thread.

use std::collections::HashMap;

use fechatter_events::Event as DomainEvent;
use fechatter_events::payload::{ThreadRead, ThreadUpdated};
use fechatter_events::{ChatId, MessageId, UserId};
use sqlx::PgConnection;
use tracing::instrument;

use crate::auth::CurrentUser;
use crate::db;
use crate::deps::Deps;
use crate::error::AppError;
use crate::models::message::MessageRow;
use crate::models::thread::{
    FollowedThread, FollowedThreads, Thread, ThreadReadState, ThreadSummary,
};
use crate::models::{Page, PageRequest};
use crate::repo;
use crate::service::access;
use crate::service::events::{self, Event};
use crate::service::messages;

/// Those of `users` who are members of the chat: only they may follow or hear of a thread.
fn members_among(members: &[UserId], users: impl IntoIterator<Item = UserId>) -> Vec<UserId> {
    let mut found: Vec<UserId> = users
        .into_iter()
        .filter(|user| members.contains(user))
        .collect();
    found.sort();
    found.dedup();
    found
}

fn updated(summary: Option<&ThreadSummary>, root: MessageId, reply: &MessageRow) -> ThreadUpdated {
    ThreadUpdated {
        chat_id: reply.chat_id,
        root_id: root,
        reply_id: reply.id,
        sender_id: reply.sender_id,
        deleted: false,
        reply_count: summary.map_or(0, |s| s.reply_count),
        last_reply_id: summary.map(|s| s.last_reply_id),
        last_reply_at: summary.map(|s| s.last_reply_at),
        mentions: Vec::new(),
    }
}

/// Inside the send's transaction: counts the reply into its thread, makes its sender and the users
/// it mentions (and, when the thread starts, the root's author and the users the root mentions)
/// follow the thread, marks the thread read for the sender up to the reply, and records
/// `thread.updated` for the followers who are members.
pub(crate) async fn record_reply(
    tx: &mut PgConnection,
    caller: &CurrentUser,
    members: &[UserId],
    root: MessageId,
    reply: &MessageRow,
    mentioned: &[UserId],
) -> Result<(), AppError> {
    let summary =
        repo::threads::add_reply(&mut *tx, reply.chat_id, root, reply.id, reply.created_at).await?;
    let mut joining: Vec<UserId> = vec![caller.id];
    joining.extend_from_slice(mentioned);
    if summary.reply_count == 1 {
        joining.extend(repo::threads::author(&mut *tx, root).await?);
        let root_mentions = repo::messages::mentions_of(&mut *tx, &[root]).await?;
        joining.extend(root_mentions.into_iter().map(|(_, user)| user));
    }
    let joining = members_among(members, joining);
    repo::threads::follow(&mut *tx, reply.chat_id, root, &joining).await?;
    repo::threads::advance_read(&mut *tx, root, caller.id, reply.id).await?;
    let followers = members_among(members, repo::threads::followers(&mut *tx, root).await?);
    let mut data = updated(Some(&summary), root, reply);
    data.mentions = mentioned.to_vec();
    record_updated(tx, caller, followers, &data).await
}

/// Inside the delete's transaction: recounts the reply's thread and tells its followers.
pub(crate) async fn record_reply_deleted(
    tx: &mut PgConnection,
    caller: &CurrentUser,
    members: &[UserId],
    reply: &MessageRow,
) -> Result<(), AppError> {
    let Some(root) = reply.thread_root_id else {
        return Ok(());
    };
    let summary = repo::threads::recount(&mut *tx, root).await?;
    let followers = members_among(members, repo::threads::followers(&mut *tx, root).await?);
    let mut data = updated(summary.as_ref(), root, reply);
    data.deleted = true;
    record_updated(tx, caller, followers, &data).await
}

/// Inside an edit's transaction: users a reply newly mentions follow its thread.
pub(crate) async fn follow_mentioned(
    tx: &mut PgConnection,
    members: &[UserId],
    reply: &MessageRow,
    mentioned: &[UserId],
) -> Result<(), AppError> {
    if let Some(root) = reply.thread_root_id {
        let joining = members_among(members, mentioned.iter().copied());
        repo::threads::follow(&mut *tx, reply.chat_id, root, &joining).await?;
    }
    Ok(())
}

async fn record_updated(
    tx: &mut PgConnection,
    caller: &CurrentUser,
    followers: Vec<UserId>,
    data: &ThreadUpdated,
) -> Result<(), AppError> {
    events::record(
        &mut *tx,
        Event {
            workspace_id: caller.workspace_id,
            chat_id: Some(data.chat_id),
            actor_id: Some(caller.id),
            recipients: followers,
            event: DomainEvent::ThreadUpdated(data.clone()),
        },
    )
    .await?;
    Ok(())
}

/// The thread `message_id` belongs to (its own when it is a root): root, counts, the caller's
/// follow state and a page of replies, for a member.
#[instrument(skip_all, fields(user = %caller.id, chat = %chat_id, message = %message_id))]
pub async fn page(
    deps: &Deps,
    caller: &CurrentUser,
    chat_id: ChatId,
    message_id: MessageId,
    page: PageRequest,
) -> Result<Thread, AppError> {
    access::membership(deps, caller, chat_id).await?;
    let root_id = repo::threads::root_for_reply(deps.pool(), chat_id, message_id)
        .await?
        .ok_or(AppError::NotFound("message"))?;
    let root = repo::messages::find_live(deps.pool(), chat_id, root_id).await?;
    let summary = repo::threads::summaries(deps.pool(), &[root_id])
        .await?
        .pop();
    let read = repo::threads::read_state(deps.pool(), root_id, caller.id).await?;
    let rows = repo::threads::replies(deps.pool(), root_id, page).await?;
    let replies = Page::from_rows(rows, page, |row| row.id.0);
    let root = match root {
        Some(row) => messages::with_details(deps, caller, vec![row]).await?.pop(),
        None => None,
    };
    let items = messages::with_details(deps, caller, replies.items).await?;
    Ok(Thread {
        chat_id,
        root_id,
        root,
        reply_count: summary.as_ref().map_or(0, |s| s.reply_count),
        last_reply_at: summary.map(|s| s.last_reply_at),
        following: read.is_some(),
        unread_count: read.map_or(0, |(_, unread)| unread),
        items,
        next_before: replies.next_before,
        has_more: replies.has_more,
    })
}

/// The threads the caller follows in their chats, the latest reply first, with unread counts.
#[instrument(skip_all, fields(user = %caller.id))]
pub async fn followed(
    deps: &Deps,
    caller: &CurrentUser,
    page: PageRequest,
) -> Result<FollowedThreads, AppError> {
    let rows = repo::threads::followed(deps.pool(), caller.id, page).await?;
    let page = Page::from_rows(rows, page, |row| row.last_reply_id.0);
    let root_ids: Vec<MessageId> = page.items.iter().map(|row| row.root_id).collect();
    let roots = repo::threads::live_roots(deps.pool(), &root_ids).await?;
    let mut roots: HashMap<MessageId, _> = messages::with_details(deps, caller, roots)
        .await?
        .into_iter()
        .map(|message| (message.id, message))
        .collect();
    Ok(FollowedThreads {
        items: page
            .items
            .into_iter()
            .map(|row| FollowedThread {
                chat_id: row.chat_id,
                root_id: row.root_id,
                root: roots.remove(&row.root_id),
                reply_count: row.reply_count,
                last_reply_id: row.last_reply_id,
                last_reply_at: row.last_reply_at,
                last_read_reply_id: row.last_read_reply_id,
                unread_count: row.unread_count,
            })
            .collect(),
        next_before: page.next_before,
        has_more: page.has_more,
    })
}

/// Marks a followed thread read up to one of its replies (never backwards); `thread.read` goes to
/// the caller's own sessions when the marker moved.
#[instrument(skip_all, fields(user = %caller.id, chat = %chat_id, message = %message_id))]
pub async fn mark_read(
    deps: &Deps,
    caller: &CurrentUser,
    chat_id: ChatId,
    message_id: MessageId,
    reply_id: MessageId,
) -> Result<ThreadReadState, AppError> {
    access::membership(deps, caller, chat_id).await?;
    let root_id = repo::threads::root_for_reply(deps.pool(), chat_id, message_id)
        .await?
        .ok_or(AppError::NotFound("message"))?;
    let reply_root = repo::threads::root_for_reply(deps.pool(), chat_id, reply_id).await?;
    if reply_id == root_id || reply_root != Some(root_id) {
        return Err(AppError::invalid(
            "not_in_thread",
            "message_id is not a reply of this thread",
        ));
    }
    let mut tx = db::begin(deps.pool()).await?;
    if repo::threads::read_state(&mut *tx, root_id, caller.id)
        .await?
        .is_none()
    {
        return Err(AppError::invalid(
            "not_following",
            "you do not follow this thread: write in it or be mentioned in it first",
        ));
    }
    if let Some(marker) =
        repo::threads::advance_read(&mut *tx, root_id, caller.id, reply_id).await?
    {
        events::record(
            &mut *tx,
            Event {
                workspace_id: caller.workspace_id,
                chat_id: Some(chat_id),
                actor_id: Some(caller.id),
                recipients: vec![caller.id],
                event: DomainEvent::ThreadRead(ThreadRead {
                    chat_id,
                    root_id,
                    user_id: caller.id,
                    last_read_reply_id: marker,
                }),
            },
        )
        .await?;
    }
    let (last_read_reply_id, unread_count) =
        repo::threads::read_state(&mut *tx, root_id, caller.id)
            .await?
            .unwrap_or((None, 0));
    events::commit(deps, tx).await?;
    Ok(ThreadReadState {
        chat_id,
        root_id,
        last_read_reply_id,
        unread_count,
    })
}
