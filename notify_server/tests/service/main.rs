//! notify_server against a real NATS: routing, replay, presence, typing, faults, health and metrics.
//! One test binary, so the crate links once.

mod auth;
mod capacity;
mod cors;
mod faults;
mod foundation;
mod presence;
mod replay;
mod revocation;
mod routing;
mod scale_out;
mod slow_consumer;
mod support;
mod typing;
