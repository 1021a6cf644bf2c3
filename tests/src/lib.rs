//! The end-to-end harness: the whole Fechatter topology started from the built service binaries,
//! configured only through environment variables, on real infrastructure from `test_support`.

pub mod topology;

pub use topology::{Service, Topology};
