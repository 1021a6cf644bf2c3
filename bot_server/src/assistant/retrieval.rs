//! Finding the earlier messages of a chat that an answer quotes: by search terms (all must match)
//! or by a question (any of its words, blended with embedding similarity when hybrid is on).

use fechatter_events::{ChatId, MessageId};
use fechatter_search::{Combine, SearchQuery};

use crate::repo;
use crate::repo::passages::{Lookup, Passage};
use crate::state::AppState;

/// The share of the score embedding similarity gets for questions.
const HYBRID_WEIGHT: f32 = 0.5;

pub async fn matching(
    state: &AppState,
    chat: ChatId,
    asked: MessageId,
    terms: &str,
) -> Result<Vec<Passage>, sqlx::Error> {
    let Ok(query) = SearchQuery::parse(terms) else {
        return Ok(Vec::new());
    };
    let tsquery = query.tsquery(Combine::All);
    repo::passages::ranked(
        state.pool(),
        Lookup {
            chat_id: chat,
            asked,
            tsquery: tsquery.as_deref(),
            like_patterns: &query.like_patterns(),
            all_terms: true,
            embedding: None,
            limit: state.config().assistant.matches,
        },
    )
    .await
}

pub async fn relevant(
    state: &AppState,
    chat: ChatId,
    asked: MessageId,
    question: &str,
) -> Result<Vec<Passage>, sqlx::Error> {
    // A question of nothing but punctuation still gets the closest (or latest) messages.
    let query = SearchQuery::parse(question).ok();
    let tsquery = query.as_ref().and_then(|q| q.tsquery(Combine::Any));
    let like_patterns = query
        .as_ref()
        .map(SearchQuery::like_patterns)
        .unwrap_or_default();
    let embedding = if state.config().assistant.hybrid {
        state.embeddings().embed(question).await
    } else {
        None
    };
    repo::passages::ranked(
        state.pool(),
        Lookup {
            chat_id: chat,
            asked,
            tsquery: tsquery.as_deref(),
            like_patterns: &like_patterns,
            all_terms: false,
            embedding: embedding
                .as_ref()
                .map(|e| (e.vector.as_slice(), e.model.as_str(), HYBRID_WEIGHT)),
            limit: state.config().assistant.matches,
        },
    )
    .await
}
