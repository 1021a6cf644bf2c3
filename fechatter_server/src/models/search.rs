//! `GET /api/search`: its parameters, its keyset cursor and its answer.
//!
//! Results are ranked, so the cursor is the last item's (score, message id) rather than an id alone:
//! the next page holds the items ranked strictly below it.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use fechatter_events::{ChatId, MessageId, UserId};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Words (prefixes match), "quoted phrases", URLs and dashed terms, and the operators
    /// `from:@handle`, `in:#chat`, `has:file`, `has:link`, `after:YYYY-MM-DD` and
    /// `before:YYYY-MM-DD` (see docs/search.md); at most 256 characters and 16 terms and
    /// operators.
    #[param(required = true, max_length = 256)]
    pub q: Option<String>,
    /// Only this chat (one of the caller's).
    pub chat_id: Option<ChatId>,
    /// Page size, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// The `next_before` of the previous page.
    pub before: Option<String>,
}

/// A position in a ranked result list: `<score>:<message id>`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchCursor {
    pub score: f32,
    pub message_id: MessageId,
}

impl fmt::Display for SearchCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `f32`'s Display is the shortest text that parses back to the same value, so the next
        // page compares against exactly the score Postgres returned.
        write!(f, "{}:{}", self.score, self.message_id)
    }
}

impl FromStr for SearchCursor {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        let (score, id) = s.split_once(':').ok_or(())?;
        let score: f32 = score.parse().map_err(|_| ())?;
        let id: i64 = id.parse().map_err(|_| ())?;
        if !score.is_finite() || id < 1 {
            return Err(());
        }
        Ok(Self {
            score,
            message_id: MessageId(id),
        })
    }
}

/// A matching message as the search query returns it: found in the index, shown as it is now.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct SearchRow {
    pub message_id: MessageId,
    pub chat_id: ChatId,
    pub sender_id: Option<UserId>,
    /// The message's current text.
    pub content: String,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    /// The index holds an older version of the message: whether the current text still matches
    /// must be checked.
    pub stale: bool,
    pub score: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SearchHit {
    pub message_id: MessageId,
    pub chat_id: ChatId,
    pub sender_id: Option<UserId>,
    pub content: String,
    /// Part of the content around the matches, HTML-escaped, each match in `<mark>…</mark>`.
    pub snippet: String,
    pub score: f32,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SearchPage {
    pub items: Vec<SearchHit>,
    pub next_before: Option<String>,
    pub has_more: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_exactly() {
        let cursor = SearchCursor {
            score: 0.123_456_79,
            message_id: MessageId(42),
        };
        assert_eq!(cursor.to_string().parse::<SearchCursor>(), Ok(cursor));
    }

    #[test]
    fn malformed_cursors_are_refused() {
        for text in [
            "", "1", "x:1", "0.5:0", "NaN:3", "inf:3", "0.5:-2", "0.5:1:2",
        ] {
            assert!(text.parse::<SearchCursor>().is_err(), "{text}");
        }
    }
}
