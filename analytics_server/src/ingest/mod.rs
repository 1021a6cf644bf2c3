//! Getting events in: client events over HTTP and domain events from JetStream.

pub mod client;
pub mod consumer;
pub mod http;
