//! All SQL lives here. Every function is one timed operation ([`crate::db::timed`]).

pub mod answers;
pub mod bots;
pub mod documents;
pub mod passages;
pub mod processed;
pub mod schema;
