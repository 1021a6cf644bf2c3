//! Listing a chat's messages: from this instance's page cache when it holds the page (see
//! `cache::pages`), else from Postgres, caching the page for the next reader. Whether the caller
//! may read the chat is checked on every request, before the cache is asked.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use fechatter_events::{ChatId, MessageId, UserId};
use tracing::instrument;

use crate::auth::CurrentUser;
use crate::cache::pages::{PageBody, PageError, Unshareable, personal};
use crate::deps::Deps;
use crate::error::AppError;
use crate::models::file::FileInfo;
use crate::models::message::{MessageRow, ReactionCount};
use crate::models::thread::ThreadSummary;
use crate::models::{Message, Page, PageRequest};
use crate::observability::metrics::MessageMetrics;
use crate::repo;
use crate::service::access;

/// The page as JSON, as the caller sees it.
#[instrument(skip_all, fields(user = %caller.id, chat = %chat_id))]
pub async fn page(
    deps: &Deps,
    caller: &CurrentUser,
    chat_id: ChatId,
    request: PageRequest,
) -> Result<Bytes, AppError> {
    access::membership(deps, caller, chat_id).await?;
    let cache = &deps.caches().pages;
    if let Some(body) = cache.get(chat_id, request) {
        MessageMetrics::fetched(body.items());
        return Ok(body.for_viewer(caller.id));
    }
    // Before the read: what changes from here on keeps this page out of the cache.
    let ticket = cache.ticket(chat_id);
    let rows = repo::messages::page(deps.pool(), chat_id, request).await?;
    let (page, reactors) =
        shared_view(deps, Page::from_rows(rows, request, |row| row.id.0)).await?;
    MessageMetrics::fetched(page.items.len());
    match PageBody::new(page, reactors) {
        Ok(body) => {
            let served = body.for_viewer(caller.id);
            if let Some(ticket) = ticket {
                cache.insert(ticket, request, Arc::new(body));
            }
            Ok(served)
        }
        Err(PageError::Unshareable(unshareable)) => {
            tracing::warn!(error = %unshareable, "a page that cannot be shared; served uncached");
            let Unshareable { page, reactors, .. } = *unshareable;
            personal(page, &reactors, caller.id).map_err(AppError::internal)
        }
        Err(PageError::Json(err)) => Err(AppError::internal(err)),
    }
}

/// The page with its mentions, reaction counts and files as everyone sees them, and who reacted
/// with each count (page order, then each message's reactions in order). The three reads run at
/// once.
async fn shared_view(
    deps: &Deps,
    page: Page<MessageRow>,
) -> Result<(Page<Message>, Vec<Vec<UserId>>), AppError> {
    let ids: Vec<MessageId> = page.items.iter().map(|row| row.id).collect();
    let (mentioned, reacted, attached, threads) = tokio::try_join!(
        repo::messages::mentions_of(deps.pool(), &ids),
        repo::reactions::reactors(deps.pool(), &ids),
        repo::files::of_messages(deps.pool(), &ids),
        repo::threads::summaries(deps.pool(), &ids),
    )?;
    let threads: HashMap<MessageId, ThreadSummary> = threads
        .into_iter()
        .map(|summary| (summary.root_id, summary))
        .collect();
    let mut mentions: HashMap<MessageId, Vec<UserId>> = HashMap::new();
    for (message, user) in mentioned {
        mentions.entry(message).or_default().push(user);
    }
    let mut reactions: HashMap<MessageId, Vec<repo::reactions::Reactors>> = HashMap::new();
    for row in reacted {
        reactions.entry(row.message_id).or_default().push(row);
    }
    let mut files: HashMap<MessageId, Vec<FileInfo>> = HashMap::new();
    for row in attached {
        files
            .entry(row.message_id)
            .or_default()
            .push(row.file.into());
    }
    let mut reactors = Vec::new();
    let page = page.map(|row| {
        let id = row.id;
        let counts = reactions
            .remove(&id)
            .unwrap_or_default()
            .into_iter()
            .map(|row| {
                let count = ReactionCount {
                    message_id: row.message_id,
                    emoji: row.emoji,
                    count: row.users.len() as i64,
                    me: false,
                };
                reactors.push(row.users);
                count
            })
            .collect();
        Message::from_row(row, mentions.remove(&id).unwrap_or_default(), counts)
            .with_files(files.remove(&id).unwrap_or_default())
            .with_thread(threads.get(&id))
    });
    Ok((page, reactors))
}
