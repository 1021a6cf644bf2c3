//! What fechatter_server (which answers `GET /api/search`) and bot_server (which writes the index
//! and answers questions from it) must agree on, so both read the same index the same way:
//!
//! - [`text`]: how message text is folded before it is stored and searched;
//! - [`query`]: the query language and its Postgres `tsquery`;
//! - [`operators`]: the search box's filters (`from:`, `in:`, `has:`, `before:`, `after:`);
//! - [`snippet`]: highlighted snippets of matching messages;
//! - [`embedding`]: the deterministic offline embedder, for hybrid ranking on both sides;
//! - [`ranking`]: the hybrid ranking formula both sides order matches by.

pub mod embedding;
pub mod operators;
pub mod query;
pub mod ranking;
pub mod snippet;
pub mod stopwords;
pub mod text;

pub use embedding::{HashedNgrams, cosine};
pub use operators::{FilteredQuery, Filters, OperatorError};
pub use query::{Combine, QueryError, SearchQuery, Term};
pub use snippet::{DEFAULT_SNIPPET_CHARS, snippet};
