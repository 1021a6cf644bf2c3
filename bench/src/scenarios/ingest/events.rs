//! The batches of the ingest scenario: client events for analytics_server, the same rows as
//! JSONEachRow for ClickHouse, and the small ClickHouse client that counts what was stored.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::Context;
use bytes::Bytes;
use chrono::Utc;
use http::{Method, Request, StatusCode};
use http_body_util::Full;
use serde_json::json;

use crate::load::{Outcome, Workload};
use crate::request;

const EVENT_TYPE: &str = "message_sent";
const PROPERTIES: &str = r#"{"chat_id":42,"length":87,"has_attachment":false}"#;

#[derive(Clone)]
pub struct Clickhouse {
    client: reqwest::Client,
    url: String,
}

impl Clickhouse {
    pub fn new(url: &str) -> Self {
        Self {
            client: reqwest::Client::new(),
            url: url.trim_end_matches('/').to_owned(),
        }
    }

    pub async fn execute(&self, sql: &str) -> anyhow::Result<String> {
        let response = self
            .client
            .post(&self.url)
            .body(sql.to_owned())
            .send()
            .await
            .with_context(|| format!("ClickHouse at {}", self.url))?;
        let status = response.status();
        let text = response.text().await?;
        anyhow::ensure!(status.is_success(), "ClickHouse: {sql}: {status}: {text}");
        Ok(text)
    }

    pub async fn count(&self, table: &str) -> anyhow::Result<u64> {
        let text = self
            .execute(&format!("SELECT count() FROM {table}"))
            .await?;
        Ok(text.trim().parse()?)
    }
}

/// Batches of client events for `POST /api/events`, remembering when each was accepted.
pub struct ApiBatches {
    host: String,
    token: String,
    batch: usize,
    /// (time of the 202, events accepted up to and including this batch)
    accepted: Mutex<(u64, Vec<(Instant, u64)>)>,
    bytes: AtomicU64,
}

impl ApiBatches {
    pub fn new(host: String, token: String, batch: usize) -> Self {
        Self {
            host,
            token,
            batch,
            accepted: Mutex::new((0, Vec::new())),
            bytes: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, Vec<(Instant, u64)>)> {
        self.accepted
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn accepted_total(&self) -> u64 {
        self.lock().0
    }

    pub fn accepted(&self) -> Vec<(Instant, u64)> {
        self.lock().1.clone()
    }

    /// Forgets the warm-up's batches (their events stay in the running total).
    pub fn clear_accepted(&self) {
        self.lock().1.clear();
    }

    pub fn batch_bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

impl Workload for ApiBatches {
    fn request(&self, worker: usize, n: u64) -> Request<Full<Bytes>> {
        let occurred_at = Utc::now().to_rfc3339();
        let events: Vec<_> = (0..self.batch)
            .map(|_| {
                json!({
                    "event_id": uuid::Uuid::new_v4(),
                    "event_type": EVENT_TYPE,
                    "client_id": format!("bench-client-{worker}"),
                    "session_id": format!("bench-session-{worker}-{}", n / 100),
                    "occurred_at": occurred_at,
                    "app_version": "1.4.2",
                    "system": {"os": "linux", "os_version": "6.1", "arch": "x86_64", "locale": "en-GB", "device": "desktop"},
                    "properties": {"chat_id": 42, "length": 87, "has_attachment": false},
                })
            })
            .collect();
        let body = serde_json::to_vec(&json!({ "events": events })).unwrap_or_default();
        self.bytes.store(body.len() as u64, Ordering::Relaxed);
        request(
            Method::POST,
            &self.host,
            "/api/events",
            Some(&self.token),
            Some(Bytes::from(body)),
        )
    }

    fn check(&self, status: StatusCode, _body: &Bytes) -> Outcome {
        match status {
            StatusCode::ACCEPTED => {
                let mut accepted = self.lock();
                accepted.0 += self.batch as u64;
                let total = accepted.0;
                accepted.1.push((Instant::now(), total));
                Outcome::Ok
            }
            StatusCode::SERVICE_UNAVAILABLE => Outcome::Backpressure,
            _ => Outcome::Error,
        }
    }

    fn units(&self) -> u64 {
        self.batch as u64
    }
}

/// The same events as table rows, inserted with `INSERT … FORMAT JSONEachRow`.
pub struct RawBatches {
    pub addr: SocketAddr,
    host: String,
    path: String,
    batch: usize,
}

impl RawBatches {
    pub fn new(clickhouse_url: &str, table: &str, batch: usize) -> anyhow::Result<Self> {
        let url = url::Url::parse(clickhouse_url)?;
        let host = url.host_str().context("ClickHouse URL without a host")?;
        let port = url
            .port_or_known_default()
            .context("ClickHouse URL without a port")?;
        let addr = format!("{host}:{port}")
            .parse()
            .or_else(|_| format!("127.0.0.1:{port}").parse())?;
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("query", &format!("INSERT INTO {table} FORMAT JSONEachRow"))
            .finish();
        Ok(Self {
            addr,
            host: format!("{host}:{port}"),
            path: format!("/?{query}"),
            batch,
        })
    }
}

impl Workload for RawBatches {
    fn request(&self, worker: usize, n: u64) -> Request<Full<Bytes>> {
        let now = Utc::now();
        let date = now.format("%Y-%m-%d").to_string();
        let time = now.format("%Y-%m-%d %H:%M:%S").to_string();
        let millis = now.timestamp_subsec_millis();
        let mut body = Vec::with_capacity(self.batch * 400);
        for _ in 0..self.batch {
            let row = json!({
                "event_id": uuid::Uuid::new_v4(),
                "event_date": date,
                "event_time": time,
                "event_millis": millis,
                "received_at": time,
                "source": "http",
                "event_type": EVENT_TYPE,
                "workspace_id": 1,
                "user_id": 1,
                "chat_id": 0,
                "chat_type": "",
                "client_id": format!("bench-client-{worker}"),
                "session_id": format!("bench-session-{worker}-{}", n / 100),
                "app_version": "1.4.2",
                "os": "linux",
                "os_version": "6.1",
                "arch": "x86_64",
                "locale": "en-GB",
                "device": "desktop",
                "properties": PROPERTIES,
            });
            if serde_json::to_writer(&mut body, &row).is_ok() {
                body.push(b'\n');
            }
        }
        request(
            Method::POST,
            &self.host,
            &self.path,
            None,
            Some(Bytes::from(body)),
        )
    }

    fn units(&self) -> u64 {
        self.batch as u64
    }
}
