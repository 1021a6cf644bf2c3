//! Search operators: filters written into the query beside its words.
//!
//! | operator | keeps messages |
//! |---|---|
//! | `from:@ann` (or `from:ann`) | sent by that user; several `from:` are alternatives |
//! | `in:#launch` (or `in:launch`, `in:"#launch plans"`) | of the caller's chats with that name; several `in:` are alternatives |
//! | `has:file` | with at least one attached file |
//! | `has:link` | whose text holds an `http://` or `https://` link |
//! | `after:2026-12-01` | sent on or after that day (UTC) |
//! | `before:2026-12-02` | sent before that day (UTC) |
//!
//! Operator names are case-insensitive and only count outside quotes; any other `word:` (a URL,
//! `x:y`) stays a search term. Operators and words combine with AND; a query may be operators
//! alone (`from:@ann has:file`).

use chrono::{DateTime, NaiveDate, Utc};

use crate::query::{MAX_QUERY_CHARS, MAX_TERMS, QueryError, SearchQuery};

/// Filters of a query, as the user wrote them (handles and chat names folded to lower case).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    pub from: Vec<String>,
    pub chats: Vec<String>,
    pub has_file: bool,
    pub has_link: bool,
    /// Sent at or after this instant.
    pub after: Option<DateTime<Utc>>,
    /// Sent before this instant.
    pub before: Option<DateTime<Utc>>,
}

impl Filters {
    pub fn is_empty(&self) -> bool {
        *self == Filters::default()
    }

    fn count(&self) -> usize {
        self.from.len()
            + self.chats.len()
            + usize::from(self.has_file)
            + usize::from(self.has_link)
            + usize::from(self.after.is_some())
            + usize::from(self.before.is_some())
    }
}

/// Words and filters of a search box query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilteredQuery {
    /// The words; no terms when the query is filters alone.
    pub query: SearchQuery,
    pub filters: Filters,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OperatorError {
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error("{0}: needs a value, e.g. {1}")]
    MissingValue(&'static str, &'static str),
    #[error("has:{0} is unknown; use has:file or has:link")]
    UnknownHas(String),
    #[error("{0}:{1} is not a date; write it as YYYY-MM-DD")]
    BadDate(&'static str, String),
    #[error("{0}: appears twice")]
    Repeated(&'static str),
    #[error("after: must be a day before before:")]
    EmptyRange,
}

enum Operator {
    From,
    In,
    Has,
    After,
    Before,
}

/// The operator a token starts with, and the rest of it.
fn operator(token: &str) -> Option<(Operator, &str)> {
    let (name, value) = token.split_once(':')?;
    let operator = match name.to_ascii_lowercase().as_str() {
        "from" => Operator::From,
        "in" => Operator::In,
        "has" => Operator::Has,
        "after" => Operator::After,
        "before" => Operator::Before,
        _ => return None,
    };
    Some((operator, value))
}

fn day(name: &'static str, value: &str) -> Result<DateTime<Utc>, OperatorError> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|start| start.and_utc())
        .ok_or_else(|| OperatorError::BadDate(name, value.to_owned()))
}

fn apply(filters: &mut Filters, operator: Operator, value: &str) -> Result<(), OperatorError> {
    match operator {
        Operator::From => {
            let handle = value.trim_start_matches('@').to_lowercase();
            if handle.is_empty() {
                return Err(OperatorError::MissingValue("from", "from:@ann"));
            }
            filters.from.push(handle);
        }
        Operator::In => {
            let name = value.trim_start_matches('#').trim().to_lowercase();
            if name.is_empty() {
                return Err(OperatorError::MissingValue("in", "in:#general"));
            }
            filters.chats.push(name);
        }
        Operator::Has => match value.to_ascii_lowercase().as_str() {
            "file" | "files" => filters.has_file = true,
            "link" | "links" => filters.has_link = true,
            "" => return Err(OperatorError::MissingValue("has", "has:file")),
            other => return Err(OperatorError::UnknownHas(other.to_owned())),
        },
        Operator::After => {
            if filters.after.is_some() {
                return Err(OperatorError::Repeated("after"));
            }
            filters.after = Some(day("after", value)?);
        }
        Operator::Before => {
            if filters.before.is_some() {
                return Err(OperatorError::Repeated("before"));
            }
            filters.before = Some(day("before", value)?);
        }
    }
    Ok(())
}

impl FilteredQuery {
    pub fn parse(input: &str) -> Result<Self, OperatorError> {
        if input.chars().count() > MAX_QUERY_CHARS {
            return Err(QueryError::TooLong.into());
        }
        let mut filters = Filters::default();
        let mut words = String::new();
        // Text between double quotes is a phrase, or the value of an `in:` just before it.
        let parts: Vec<&str> = input.split('"').collect();
        let mut index = 0;
        while index < parts.len() {
            let part = parts[index];
            if index % 2 == 1 {
                words.push_str(&format!(" \"{part}\" "));
                index += 1;
                continue;
            }
            let tokens: Vec<&str> = part.split_whitespace().collect();
            let ends_open = !part.ends_with(char::is_whitespace);
            for (position, token) in tokens.iter().enumerate() {
                let Some((operator, value)) = operator(token) else {
                    words.push(' ');
                    words.push_str(token);
                    continue;
                };
                let quoted_value = position + 1 == tokens.len()
                    && ends_open
                    && matches!(operator, Operator::In)
                    && value.trim_start_matches('#').is_empty()
                    && index + 1 < parts.len();
                if quoted_value {
                    apply(&mut filters, operator, parts[index + 1])?;
                    index += 1;
                } else {
                    apply(&mut filters, operator, value)?;
                }
            }
            index += 1;
        }
        if let (Some(after), Some(before)) = (filters.after, filters.before)
            && after >= before
        {
            return Err(OperatorError::EmptyRange);
        }
        let query = match SearchQuery::parse(&words) {
            Err(QueryError::Empty) if !filters.is_empty() => SearchQuery::no_terms(),
            other => other?,
        };
        if query.terms().len() + filters.count() > MAX_TERMS {
            return Err(QueryError::TooManyTerms.into());
        }
        Ok(Self { query, filters })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Combine;

    fn parse(input: &str) -> FilteredQuery {
        FilteredQuery::parse(input).unwrap_or_else(|err| panic!("{input}: {err}"))
    }

    fn at(text: &str) -> Option<DateTime<Utc>> {
        Some(day("test", text).unwrap_or_default())
    }

    #[test]
    fn operators_become_filters_and_the_rest_stays_words() {
        let parsed = parse(
            "deploy FROM:@Ann from:bob in:#Launch has:file has:link after:2026-12-01 \"error budget\" before:2026-12-03",
        );
        assert_eq!(
            parsed.query.tsquery(Combine::All).as_deref(),
            Some("'deploy':* & 'error budget'")
        );
        assert_eq!(
            parsed.filters,
            Filters {
                from: vec!["ann".into(), "bob".into()],
                chats: vec!["launch".into()],
                has_file: true,
                has_link: true,
                after: at("2026-12-01"),
                before: at("2026-12-03"),
            }
        );
    }

    #[test]
    fn a_quoted_chat_name_may_hold_spaces_and_quoted_operators_are_words() {
        let parsed = parse("in:\"#Launch Plans\" \"from:ann\"");
        assert_eq!(parsed.filters.chats, vec!["launch plans".to_owned()]);
        assert!(parsed.filters.from.is_empty());
        assert_eq!(
            parsed.query.tsquery(Combine::All).as_deref(),
            Some("'from:ann':*")
        );
    }

    #[test]
    fn urls_and_unknown_prefixes_stay_search_terms() {
        let parsed = parse("https://example.com/a x:y");
        assert!(parsed.filters.is_empty());
        assert_eq!(
            parsed.query.tsquery(Combine::All).as_deref(),
            Some("'https://example.com/a':* & 'x:y':*")
        );
    }

    #[test]
    fn filters_alone_are_a_query_and_nothing_at_all_is_not() {
        let parsed = parse("from:@ann has:file");
        assert!(parsed.query.terms().is_empty());
        assert_eq!(parsed.query.tsquery(Combine::All), None);
        assert_eq!(
            FilteredQuery::parse("  "),
            Err(OperatorError::Query(QueryError::Empty))
        );
    }

    #[test]
    fn bad_operators_are_named_in_the_error() {
        let error = |input: &str| FilteredQuery::parse(input).err().map(|e| e.to_string());
        assert_eq!(
            FilteredQuery::parse("has:video"),
            Err(OperatorError::UnknownHas("video".into()))
        );
        assert_eq!(
            FilteredQuery::parse("x before:yesterday"),
            Err(OperatorError::BadDate("before", "yesterday".into()))
        );
        assert_eq!(
            FilteredQuery::parse("after:2026-02-30"),
            Err(OperatorError::BadDate("after", "2026-02-30".into()))
        );
        assert_eq!(
            FilteredQuery::parse("from:@ x"),
            Err(OperatorError::MissingValue("from", "from:@ann"))
        );
        assert_eq!(
            FilteredQuery::parse("after:2026-12-02 before:2026-12-02"),
            Err(OperatorError::EmptyRange)
        );
        assert_eq!(
            FilteredQuery::parse("after:2026-12-01 after:2026-12-02"),
            Err(OperatorError::Repeated("after"))
        );
        assert!(error("in:").is_some_and(|text| text.contains("in:#general")));
        let many = (0..MAX_TERMS)
            .map(|n| format!("w{n}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(
            FilteredQuery::parse(&format!("{many} has:file")),
            Err(OperatorError::Query(QueryError::TooManyTerms))
        );
    }
}
