//! fechatter_server over HTTP, on real Postgres and NATS. One test binary (cheaper to build);
//! nextest still runs each test in its own process, so each has its own metrics recorder.

#[path = "../common/mod.rs"]
mod common;

mod authorization;
mod bad_input;
mod bots;
mod events;
mod files;
mod foundation;
mod history;
mod hostile_input;
mod instances;
mod limits;
mod openapi;
mod outage;
mod page_cache;
mod pins;
mod rate_limits;
mod relay;
mod search;
mod send_batches;
mod sessions;
mod statuses;
mod storage;
mod story;
mod supervision;
mod threads;
mod web_client;
mod webhooks;
mod websocket;
mod ws_push;
