//! The end-to-end harness: the whole Fechatter topology started from the built service binaries,
//! configured only through environment variables, on real infrastructure from `test_support`;
//! clients of its public interfaces (HTTP, SSE, `/metrics`, Prometheus); and the checks of the
//! operations files (`ops`).

pub mod alerts;
pub mod analytics;
pub mod api;
pub mod browser;
pub mod follow;
pub mod llm;
pub mod metrics;
pub mod nats_users;
pub mod ops;
pub mod paging;
pub mod sse;
pub mod topology;
pub mod traffic;
pub mod truth;
pub mod ws;

pub use topology::cluster::Cluster;
pub use topology::{Service, Topology};
