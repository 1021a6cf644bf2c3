//! End-to-end tests of the Fechatter topology (in `tests/`), and the helpers they share.

pub mod ops;
pub mod services;
