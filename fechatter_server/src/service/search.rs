//! Searching the messages of the caller's chats. The index is written by bot_server from the
//! message events, so it lags behind edits and deletes (by far more while NATS or the bot is
//! down); every hit is therefore checked against the message as it is now: deleted messages are
//! left out, the text and snippet shown are the current ones, and a message edited since it was
//! indexed is kept only if its current text still matches.

use std::collections::HashSet;

use fechatter_events::{ChatId, MessageId};
use fechatter_search::text::search_text;
use fechatter_search::{
    Combine, DEFAULT_SNIPPET_CHARS, FilteredQuery, Filters, SearchQuery, snippet,
};
use tracing::instrument;

use crate::auth::CurrentUser;
use crate::deps::Deps;
use crate::error::AppError;
use crate::models::page::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::models::search::{SearchCursor, SearchHit, SearchPage, SearchParams, SearchRow};
use crate::observability::metrics::SearchMetrics;
use crate::repo;
use crate::repo::search::SearchSql;
use crate::service::{access, search_filters};

/// The share of the score that vector similarity gets when hybrid ranking is on.
const HYBRID_WEIGHT: f32 = 0.5;

struct Request {
    query: SearchQuery,
    filters: Filters,
    chat_id: Option<ChatId>,
    limit: i64,
    before: Option<SearchCursor>,
}

fn validate(params: SearchParams) -> Result<Request, AppError> {
    let text = params
        .q
        .ok_or_else(|| AppError::bad_request("invalid_query", "q is required"))?;
    if text.contains('\0') {
        return Err(AppError::bad_request(
            "invalid_query",
            "q may not contain NUL characters",
        ));
    }
    let FilteredQuery { query, filters } = FilteredQuery::parse(&text)
        .map_err(|err| AppError::bad_request("invalid_query", err.to_string()))?;
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AppError::bad_request(
            "invalid_limit",
            format!("limit must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let before = params
        .before
        .map(|text| text.parse::<SearchCursor>())
        .transpose()
        .map_err(|()| {
            AppError::bad_request(
                "invalid_cursor",
                "before must be the next_before of a previous page",
            )
        })?;
    Ok(Request {
        query,
        filters,
        chat_id: params.chat_id,
        limit,
        before,
    })
}

fn hit(row: SearchRow, query: &SearchQuery) -> SearchHit {
    SearchHit {
        snippet: snippet(&row.content, query, DEFAULT_SNIPPET_CHARS),
        edited_at: row.edited_at,
        message_id: row.message_id,
        chat_id: row.chat_id,
        sender_id: row.sender_id,
        content: row.content,
        score: row.score,
        created_at: row.created_at,
    }
}

#[derive(Debug, Clone, Copy)]
struct Pattern<'a> {
    tsquery: Option<&'a str>,
    like_patterns: &'a [String],
}

/// Removes the rows the index found by a text their message no longer has (edited since it was
/// indexed, and the current text does not match).
async fn drop_outdated(
    deps: &Deps,
    rows: &mut Vec<SearchRow>,
    pattern: Pattern<'_>,
) -> Result<(), AppError> {
    let (ids, folded): (Vec<MessageId>, Vec<String>) = rows
        .iter()
        .filter(|row| row.stale)
        .map(|row| (row.message_id, search_text(&row.content)))
        .unzip();
    if ids.is_empty() {
        return Ok(());
    }
    let matching: HashSet<MessageId> = repo::search::still_matching(
        deps.pool(),
        &ids,
        &folded,
        pattern.tsquery,
        pattern.like_patterns,
    )
    .await?
    .into_iter()
    .collect();
    rows.retain(|row| !row.stale || matching.contains(&row.message_id));
    Ok(())
}

/// Ranked matches in the chats the caller is a member of (one of them with `chat_id`: 404 unless a
/// member) that pass the query's operators, keyset-paged by (score, message id).
#[instrument(skip_all, fields(user = %caller.id))]
pub async fn search(
    deps: &Deps,
    caller: &CurrentUser,
    params: SearchParams,
) -> Result<SearchPage, AppError> {
    let request = validate(params)?;
    if let Some(chat_id) = request.chat_id {
        access::membership(deps, caller, chat_id).await?;
    }
    let filters = search_filters::resolve(deps, caller, &request.filters).await?;
    let settings = deps.config().search;
    let tsquery = request.query.tsquery(Combine::All);
    let like_patterns = request.query.like_patterns();
    let pattern = Pattern {
        tsquery: tsquery.as_deref(),
        like_patterns: &like_patterns,
    };
    // Filters alone have no words to compare embeddings with.
    let has_terms = !request.query.terms().is_empty();
    let embedding =
        (settings.hybrid && has_terms).then(|| settings.embedder.embed(&request.query.text()));
    let model = settings.embedder.model();
    let rows = repo::search::search(
        deps.pool(),
        SearchSql {
            caller: caller.id,
            workspace_id: caller.workspace_id,
            chat_id: request.chat_id,
            tsquery: tsquery.as_deref(),
            like_patterns: &like_patterns,
            embedding: embedding
                .as_deref()
                .map(|vector| (vector, model.as_str(), HYBRID_WEIGHT)),
            before: request.before,
            fetch_limit: request.limit + 1,
            filters: filters.sql(),
        },
    )
    .await?;
    SearchMetrics::searched();
    let has_more = rows.len() as i64 > request.limit;
    let mut rows: Vec<SearchRow> = rows.into_iter().take(request.limit as usize).collect();
    // The cursor follows the ranking of the index, whether or not its last row is shown.
    let next_before = match rows.last() {
        Some(last) if has_more => Some(
            SearchCursor {
                score: last.score,
                message_id: last.message_id,
            }
            .to_string(),
        ),
        _ => None,
    };
    drop_outdated(deps, &mut rows, pattern).await?;
    let items: Vec<SearchHit> = rows
        .into_iter()
        .map(|row| hit(row, &request.query))
        .collect();
    Ok(SearchPage {
        items,
        next_before,
        has_more,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(q: Option<&str>, limit: Option<i64>, before: Option<&str>) -> SearchParams {
        SearchParams {
            q: q.map(str::to_owned),
            chat_id: None,
            limit,
            before: before.map(str::to_owned),
        }
    }

    fn code(result: Result<Request, AppError>) -> &'static str {
        match result {
            Err(AppError::BadRequest { code, .. }) => code,
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => "ok",
        }
    }

    #[test]
    fn bad_input_is_named_by_its_code() {
        assert_eq!(code(validate(params(None, None, None))), "invalid_query");
        assert_eq!(
            code(validate(params(Some(" !? "), None, None))),
            "invalid_query"
        );
        assert_eq!(
            code(validate(params(Some("x"), Some(0), None))),
            "invalid_limit"
        );
        assert_eq!(
            code(validate(params(Some("x"), Some(101), None))),
            "invalid_limit"
        );
        assert_eq!(
            code(validate(params(Some("x"), None, Some("7")))),
            "invalid_cursor"
        );
        assert_eq!(
            code(validate(params(Some("x has:video"), None, None))),
            "invalid_query"
        );
        assert_eq!(
            code(validate(params(Some("before:tomorrow"), None, None))),
            "invalid_query"
        );
        assert_eq!(code(validate(params(Some("has:file"), None, None))), "ok");
        assert_eq!(
            code(validate(params(Some("x"), Some(100), Some("0.5:7")))),
            "ok"
        );
    }
}
