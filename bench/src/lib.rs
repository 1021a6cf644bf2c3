//! Benchmarks of the Fechatter services against peers run side by side (`docs/benchmarks.md`).
//!
//! Each scenario starts the service binary it measures (and its peer) as child processes, drives
//! them with a load generator written with tokio and hdrhistogram, reads their CPU time and memory
//! from `/proc`, and returns a [`report::ScenarioResult`]. The infrastructure (Postgres, NATS,
//! ClickHouse) is given: `./scripts/bench` starts its own, the smoke tests use `test_support`'s.

pub mod config;
pub mod latency;
pub mod launch;
pub mod load;
pub mod markdown;
pub mod peers;
pub mod pgbench;
pub mod pin;
pub mod procfs;
pub mod report;
pub mod runner;
pub mod scenarios;
pub mod seed;
pub mod sse;

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, header};
use http_body_util::Full;

use crate::launch::Launcher;
use crate::pgbench::Pgbench;

/// How big each scenario is. [`Scale::full`] is the table; [`Scale::smoke`] proves each
/// scenario still works in a few seconds.
#[derive(Debug, Clone)]
pub struct Scale {
    /// Concurrent keep-alive connections of the HTTP load generator.
    pub http_connections: usize,
    /// fechatter's pool size, and pgbench's client count: both sides get the same connections.
    pub db_connections: u32,
    pub chats: usize,
    pub chat_size: usize,
    /// Messages per chat for the list scenario.
    pub messages_per_chat: i64,
    /// The depth of the deep page in the list scenario.
    pub list_depth: i64,
    pub sse_idle_connections: usize,
    /// Users per workspace for the SSE scenarios (presence is announced within a workspace).
    pub sse_workspace_size: usize,
    pub sse_fanout_subscribers: usize,
    /// Events per second published to the fan-out subscribers.
    pub fanout_rate: u32,
    /// Clients of the reconnect storm, half on the instance that is killed.
    pub storm_clients: usize,
    /// How far behind the resuming clients' cursors are, at most: each client gets one event in
    /// this window, so their last events are spread over it.
    pub storm_behind: Duration,
    pub ingest_connections: usize,
    pub ingest_batch: usize,
    /// `message.created` events per second published to bot_server while its lag is measured.
    pub bot_rate: u32,
    /// Alternating rounds of the metrics-overhead comparison.
    pub metrics_rounds: usize,
    /// Calls per variant of the in-process metrics-layer measurement.
    pub metrics_micro_calls: u64,
}

impl Scale {
    pub fn full() -> Self {
        Self {
            http_connections: 64,
            db_connections: 20,
            chats: 20,
            chat_size: 10,
            messages_per_chat: 1_000,
            list_depth: 500_000,
            sse_idle_connections: 20_000,
            sse_workspace_size: 100,
            sse_fanout_subscribers: 10_000,
            fanout_rate: 10,
            storm_clients: 10_000,
            storm_behind: Duration::from_secs(30),
            ingest_connections: 4,
            ingest_batch: 1_000,
            bot_rate: 2_000,
            metrics_rounds: 5,
            metrics_micro_calls: 1_000_000,
        }
    }

    pub fn smoke() -> Self {
        Self {
            http_connections: 4,
            db_connections: 4,
            chats: 2,
            chat_size: 3,
            messages_per_chat: 60,
            list_depth: 500,
            sse_idle_connections: 60,
            sse_workspace_size: 10,
            sse_fanout_subscribers: 30,
            fanout_rate: 5,
            storm_clients: 60,
            storm_behind: Duration::from_secs(2),
            ingest_connections: 2,
            ingest_batch: 100,
            bot_rate: 100,
            metrics_rounds: 1,
            metrics_micro_calls: 2_000,
        }
    }
}

/// Everything a scenario needs besides the infrastructure.
#[derive(Debug, Clone)]
pub struct Setup {
    pub launcher: Launcher,
    pub pgbench: Pgbench,
    /// How the load generator is pinned, for the record (the caller pins this process).
    pub client_cpus: Option<String>,
    pub warmup: Duration,
    pub duration: Duration,
    pub scale: Scale,
    /// A throw-away access-token key pair and bot credential for this run.
    pub keys: BenchKeys,
}

/// The deployment secrets a run makes up: the benchmark plays fechatter_server's part when it seeds
/// users, so it holds the private key too.
#[derive(Debug, Clone)]
pub struct BenchKeys {
    pub private_pem: String,
    pub public_pem: String,
    pub bot_api_key: String,
}

impl BenchKeys {
    pub fn generate() -> anyhow::Result<BenchKeys> {
        let (private_pem, public_pem) = fechatter_auth::generate_key_pair()?;
        Ok(BenchKeys {
            private_pem,
            public_pem,
            bot_api_key: format!("bench-bot-{}", uuid::Uuid::new_v4().simple()),
        })
    }
}

/// A request with the Host header a raw HTTP/1.1 connection needs.
pub fn request(
    method: Method,
    host: &str,
    path: &str,
    token: Option<&str>,
    json: Option<Bytes>,
) -> Request<Full<Bytes>> {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, host);
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if json.is_some() {
        builder = builder.header(header::CONTENT_TYPE, "application/json");
    }
    builder
        .body(Full::new(json.unwrap_or_default()))
        .unwrap_or_else(|err| unreachable!("a request from valid parts: {err}"))
}
