//! The search query language and its translation to Postgres full-text search.
//!
//! - a bare word is a prefix: `deplo` finds "deployment";
//! - a token with punctuation (`x-request-id`, a URL) goes to Postgres' parser whole, which splits it
//!   into the same lexemes it made of the stored text, each a prefix and all adjacent;
//! - `"a quoted phrase"` matches those words adjacent and in order;
//! - a token in a script written without spaces (Japanese, Chinese, Thai…) is a substring, since the
//!   parser keeps a whole run of such characters as one lexeme;
//! - terms are combined with AND for search, or with OR (stop words dropped) to find the messages
//!   most relevant to a question.
//!
//! See `docs/search.md` for the measurements behind these choices.

use crate::text::{fold, is_unspaced_script};

pub const MAX_QUERY_CHARS: usize = 256;
pub const MAX_TERMS: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// Every lexeme of the token matched as a prefix (exactly, when the token is one character).
    Word(String),
    /// Words adjacent and in order, matched exactly.
    Phrase(String),
    /// Matched as a substring of the folded text.
    Substring(String),
}

/// How the terms of a query combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combine {
    /// Every term must match: what a search box means.
    All,
    /// Any term may match and more matches rank higher: finding material for a question.
    Any,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("the query has no words to search for")]
    Empty,
    #[error("the query is longer than {MAX_QUERY_CHARS} characters")]
    TooLong,
    #[error("the query has more than {MAX_TERMS} terms")]
    TooManyTerms,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    terms: Vec<Term>,
}

/// Sentence punctuation around a token is not part of it: `deploy?` is `deploy`.
const TRIM: &[char] = &[
    '?', '!', ',', ';', ':', '.', '(', ')', '[', ']', '{', '}', '"', '\'', '«', '»', '“', '”', '‘',
    '’', '¿', '¡', '。', '、', '？', '！',
];

fn has_word_character(text: &str) -> bool {
    text.chars().any(char::is_alphanumeric)
}

fn term_of_token(token: &str) -> Option<Term> {
    let token = token.trim_matches(TRIM);
    if !has_word_character(token) {
        return None;
    }
    Some(if token.chars().any(is_unspaced_script) {
        Term::Substring(token.to_owned())
    } else {
        Term::Word(token.to_owned())
    })
}

fn term_of_phrase(phrase: &str) -> Option<Term> {
    let phrase = phrase.split_whitespace().collect::<Vec<_>>().join(" ");
    if !has_word_character(&phrase) {
        return None;
    }
    Some(if phrase.chars().any(is_unspaced_script) {
        Term::Substring(phrase)
    } else if phrase.contains(' ') {
        Term::Phrase(phrase)
    } else {
        Term::Word(phrase)
    })
}

/// A quoted operand of `to_tsquery`: quotes doubled, backslashes escaped.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
}

/// A `LIKE` pattern finding `text` anywhere (`\` is `LIKE`'s default escape character).
fn containing(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

impl SearchQuery {
    pub fn parse(input: &str) -> Result<Self, QueryError> {
        if input.chars().count() > MAX_QUERY_CHARS {
            return Err(QueryError::TooLong);
        }
        let folded = fold(input);
        let mut terms = Vec::new();
        // Text between double quotes is a phrase; an unclosed quote runs to the end.
        for (i, part) in folded.split('"').enumerate() {
            if i % 2 == 1 {
                terms.extend(term_of_phrase(part));
            } else {
                terms.extend(part.split_whitespace().filter_map(term_of_token));
            }
        }
        terms.dedup();
        match terms.len() {
            0 => Err(QueryError::Empty),
            n if n > MAX_TERMS => Err(QueryError::TooManyTerms),
            _ => Ok(Self { terms }),
        }
    }

    /// A query of filters alone (see [`crate::operators`]): it matches every text.
    pub(crate) fn no_terms() -> Self {
        Self { terms: Vec::new() }
    }

    pub fn terms(&self) -> &[Term] {
        &self.terms
    }

    /// The words of the query as plain text, for embedding it.
    pub fn text(&self) -> String {
        self.terms
            .iter()
            .map(|term| match term {
                Term::Word(text) | Term::Phrase(text) | Term::Substring(text) => text.as_str(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The argument of `to_tsquery('simple', …)` for the words and phrases, or `None` when the query
    /// has none (only substrings, or, for [`Combine::Any`], only stop words).
    pub fn tsquery(&self, combine: Combine) -> Option<String> {
        let operands: Vec<String> = self
            .terms
            .iter()
            .filter_map(|term| match term {
                Term::Word(word)
                    if combine == Combine::Any && crate::stopwords::is_stopword(word) =>
                {
                    None
                }
                Term::Word(word) if word.chars().count() == 1 => Some(quoted(word)),
                Term::Word(word) => Some(format!("{}:*", quoted(word))),
                Term::Phrase(phrase) => Some(quoted(phrase)),
                Term::Substring(_) => None,
            })
            .collect();
        let operator = match combine {
            Combine::All => " & ",
            Combine::Any => " | ",
        };
        (!operands.is_empty()).then(|| operands.join(operator))
    }

    /// `LIKE` patterns for the substring terms, matched against the folded text.
    pub fn like_patterns(&self) -> Vec<String> {
        self.terms
            .iter()
            .filter_map(|term| match term {
                Term::Substring(text) => Some(containing(text)),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &str) -> SearchQuery {
        SearchQuery::parse(input).unwrap_or_else(|err| panic!("{input}: {err}"))
    }

    #[test]
    fn bare_words_are_prefixes_and_phrases_are_exact() {
        let query = parse(r#"Deplo "Error   Budget" x-request-id"#);
        assert_eq!(
            query.tsquery(Combine::All).as_deref(),
            Some("'deplo':* & 'error budget' & 'x-request-id':*")
        );
    }

    #[test]
    fn urls_and_quotes_are_escaped_for_tsquery() {
        let query = parse(r"https://example.com/a?b=1 o'brien back\slash");
        assert_eq!(
            query.tsquery(Combine::All).as_deref(),
            Some(r"'https://example.com/a?b=1':* & 'o''brien':* & 'back\\slash':*")
        );
    }

    #[test]
    fn sentence_punctuation_and_empty_tokens_are_dropped() {
        let query = parse("when is the deploy? -- !!");
        assert_eq!(
            query.terms(),
            [
                Term::Word("when".into()),
                Term::Word("is".into()),
                Term::Word("the".into()),
                Term::Word("deploy".into())
            ]
        );
        assert_eq!(SearchQuery::parse(" ?! \"\" "), Err(QueryError::Empty));
    }

    #[test]
    fn questions_combine_the_words_that_carry_meaning() {
        let query = parse("When is the deployment?");
        assert_eq!(
            query.tsquery(Combine::Any).as_deref(),
            Some("'deployment':*")
        );
        assert_eq!(parse("is it").tsquery(Combine::Any), None);
    }

    #[test]
    fn unspaced_scripts_become_escaped_substrings() {
        let query = parse("テキスト 100%_done");
        assert_eq!(query.like_patterns(), ["%テキスト%"]);
        assert_eq!(
            query.tsquery(Combine::All).as_deref(),
            Some("'100%_done':*")
        );
        assert_eq!(parse("a_b%").like_patterns(), Vec::<String>::new());
        assert_eq!(containing(r"50%_\"), r"%50\%\_\\%");
    }

    #[test]
    fn one_character_words_match_exactly() {
        assert_eq!(
            parse("a b2").tsquery(Combine::All).as_deref(),
            Some("'a' & 'b2':*")
        );
    }

    #[test]
    fn long_queries_are_refused() {
        assert_eq!(
            SearchQuery::parse(&"a".repeat(MAX_QUERY_CHARS + 1)),
            Err(QueryError::TooLong)
        );
        let many = (0..=MAX_TERMS)
            .map(|n| format!("w{n}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(SearchQuery::parse(&many), Err(QueryError::TooManyTerms));
    }
}
