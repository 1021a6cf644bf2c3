//! The end-to-end harness: the whole Fechatter topology started from the built service binaries,
//! configured only through environment variables, on real infrastructure from `test_support`; and
//! the checks of the operations files (`ops`).

pub mod ops;
pub mod topology;

pub use topology::{Service, Topology};
