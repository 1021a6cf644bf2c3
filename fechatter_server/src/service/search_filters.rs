//! The operators of a search query (`from:`, `in:`, `has:`, `before:`, `after:`), resolved
//! against the caller's workspace and chats. A handle or chat name that names nothing is a 400
//! naming it, rather than an empty result that looks like "no matches".

use fechatter_events::{ChatId, UserId};
use fechatter_search::Filters;

use crate::auth::CurrentUser;
use crate::deps::Deps;
use crate::error::AppError;
use crate::repo;
use crate::repo::search::SqlFilters;

/// Filters with ids in place of handles and names.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    senders: Option<Vec<UserId>>,
    chats: Option<Vec<ChatId>>,
    has_file: bool,
    has_link: bool,
    after: Option<chrono::DateTime<chrono::Utc>>,
    before: Option<chrono::DateTime<chrono::Utc>>,
}

impl Resolved {
    pub fn sql(&self) -> SqlFilters<'_> {
        SqlFilters {
            senders: self.senders.as_deref(),
            chats: self.chats.as_deref(),
            has_file: self.has_file,
            has_link: self.has_link,
            after: self.after,
            before: self.before,
        }
    }
}

fn unknown(what: &str, missing: &[&String]) -> AppError {
    let names: Vec<&str> = missing.iter().map(|name| name.as_str()).collect();
    AppError::bad_request("invalid_query", format!("{what}: {}", names.join(", ")))
}

pub async fn resolve(
    deps: &Deps,
    caller: &CurrentUser,
    filters: &Filters,
) -> Result<Resolved, AppError> {
    let senders = if filters.from.is_empty() {
        None
    } else {
        let found =
            repo::search::users_by_handle(deps.pool(), caller.workspace_id, &filters.from).await?;
        let missing: Vec<&String> = filters
            .from
            .iter()
            .filter(|handle| !found.iter().any(|(known, _)| known == *handle))
            .collect();
        if !missing.is_empty() {
            return Err(unknown("from: names no user of this workspace", &missing));
        }
        Some(found.into_iter().map(|(_, id)| id).collect())
    };
    let chats = if filters.chats.is_empty() {
        None
    } else {
        let named = repo::search::named_chats(deps.pool(), caller.id).await?;
        let mut ids = Vec::new();
        let mut missing = Vec::new();
        for wanted in &filters.chats {
            let before = ids.len();
            ids.extend(
                named
                    .iter()
                    .filter(|(name, _)| name.to_lowercase() == *wanted)
                    .map(|(_, id)| *id),
            );
            if ids.len() == before {
                missing.push(wanted);
            }
        }
        if !missing.is_empty() {
            return Err(unknown("in: names none of your chats", &missing));
        }
        Some(ids)
    };
    Ok(Resolved {
        senders,
        chats,
        has_file: filters.has_file,
        has_link: filters.has_link,
        after: filters.after,
        before: filters.before,
    })
}
