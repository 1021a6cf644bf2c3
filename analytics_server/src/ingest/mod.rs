//! Getting events in: client events over HTTP (stored in their own stream before the `202`), and
//! both client and domain events from JetStream into ClickHouse.

pub mod client;
pub mod client_consumer;
pub mod consumer;
pub mod http;
