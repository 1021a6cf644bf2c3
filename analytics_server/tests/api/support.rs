//! A running analytics_server on real ClickHouse and NATS, with helpers to talk to it.

use std::time::Duration;

use analytics_server::{Application, Config};
use chrono::{DateTime, Utc};
use env_config::Env;
use fechatter_auth::{TokenSigner, WorkspaceRole};
use fechatter_events::{EventBus, UserId, WorkspaceId};
use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::{ClickHouse, Nats, unique_name, wait_until};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// A throw-away key pair for this test process: (private PEM, public PEM). The tests sign tokens
/// as fechatter_server would; the service gets the public key only.
pub fn token_keys() -> &'static (String, String) {
    static KEYS: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| fechatter_auth::generate_key_pair().expect("a key pair"))
}
pub const WAIT: Duration = Duration::from_secs(30);

pub struct TestApp {
    pub api: String,
    pub metrics: String,
    pub database: String,
    pub bus: EventBus,
    pub clickhouse_url: String,
    pub nats_url: String,
    pub http: reqwest::Client,
    keys: TokenSigner,
    shutdown: CancellationToken,
    running: Option<tokio::task::JoinHandle<Result<(), analytics_server::StartupError>>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl TestApp {
    /// Starts the service on the given dependencies without waiting for it to be ready.
    pub async fn start(
        clickhouse_url: &str,
        database: &str,
        nats_url: &str,
        extra: &[(&str, &str)],
    ) -> TestApp {
        let bus = EventBus::isolated(&unique_name("analytics"));
        Self::start_on(bus, clickhouse_url, database, nats_url, extra).await
    }

    /// Stops the service as a signal would, then starts it again on the same database and
    /// streams, with `extra` settings, and waits until it is ready.
    pub async fn restart(mut self, extra: &[(&str, &str)]) -> TestApp {
        self.stop().await;
        let app = Self::start_on(
            self.bus.clone(),
            &self.clickhouse_url,
            &self.database,
            &self.nats_url,
            extra,
        )
        .await;
        app.wait_ready().await;
        app
    }

    async fn start_on(
        bus: EventBus,
        clickhouse_url: &str,
        database: &str,
        nats_url: &str,
        extra: &[(&str, &str)],
    ) -> TestApp {
        let mut vars: Vec<(String, String)> = vec![
            ("ANALYTICS_HOST".into(), "127.0.0.1".into()),
            ("ANALYTICS_PORT".into(), "0".into()),
            ("ANALYTICS_METRICS_PORT".into(), "0".into()),
            ("ANALYTICS_CLICKHOUSE_URL".into(), clickhouse_url.into()),
            ("ANALYTICS_CLICKHOUSE_DATABASE".into(), database.into()),
            ("ANALYTICS_NATS_URL".into(), nats_url.into()),
            ("ANALYTICS_NATS_STREAM".into(), bus.stream.clone()),
            (
                "ANALYTICS_NATS_SUBJECT_PREFIX".into(),
                bus.subject_prefix.clone(),
            ),
            ("ANALYTICS_JWT_PUBLIC_KEY".into(), token_keys().1.clone()),
            ("ANALYTICS_HEALTH_INTERVAL_MS".into(), "200".into()),
            ("ANALYTICS_FLUSH_INTERVAL_MS".into(), "200".into()),
            ("ANALYTICS_GAUGES_INTERVAL_MS".into(), "200".into()),
            ("ANALYTICS_CLICKHOUSE_TIMEOUT_MS".into(), "5000".into()),
        ];
        for (name, value) in extra {
            vars.retain(|(existing, _)| existing != name);
            vars.push(((*name).into(), (*value).into()));
        }
        let config = Config::from(&Env::from_map("ANALYTICS", vars)).expect("a valid config");
        let app = Application::build(config).await.expect("the app builds");
        let api = format!("http://{}", app.api_addr());
        let metrics = format!("http://{}/metrics", app.metrics_addr());
        let shutdown = CancellationToken::new();
        let running = tokio::spawn(app.run(shutdown.clone()));
        TestApp {
            api,
            metrics,
            database: database.to_owned(),
            bus,
            clickhouse_url: clickhouse_url.to_owned(),
            nats_url: nats_url.to_owned(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("an HTTP client"),
            keys: TokenSigner::from_private_pem(
                &token_keys().0,
                fechatter_auth::DEFAULT_ACCESS_TOKEN_TTL,
            )
            .expect("the test key"),
            shutdown,
            running: Some(running),
        }
    }

    /// Shuts the service down as a signal would and waits until it has stopped.
    pub async fn stop(&mut self) {
        self.shutdown.cancel();
        if let Some(running) = self.running.take() {
            let stopped = tokio::time::timeout(WAIT, running)
                .await
                .expect("the service stops in time");
            stopped.expect("the service task").expect("a clean stop");
        }
    }

    /// On the shared ClickHouse (a database of its own) and NATS (a stream of its own), ready.
    pub async fn ready(extra: &[(&str, &str)]) -> TestApp {
        let clickhouse = ClickHouse::shared().await;
        let database = clickhouse.create_database().await;
        let nats = Nats::shared().await;
        let app = TestApp::start(&clickhouse.http_url(), &database, &nats.url(), extra).await;
        app.wait_ready().await;
        app
    }

    pub async fn wait_ready(&self) {
        wait_until("analytics_server to be ready", WAIT, || async {
            self.status("/ready").await == StatusCode::OK
        })
        .await;
    }

    /// A workspace member's token.
    pub fn token(&self, user: i64, workspace: i64) -> String {
        self.token_with(user, workspace, WorkspaceRole::Member, Uuid::now_v7())
    }

    pub fn token_with(
        &self,
        user: i64,
        workspace: i64,
        role: WorkspaceRole,
        session: Uuid,
    ) -> String {
        self.keys
            .issue(UserId(user), WorkspaceId(workspace), role, session, None)
    }

    pub async fn status(&self, path: &str) -> StatusCode {
        match self.http.get(format!("{}{path}", self.api)).send().await {
            Ok(response) => response.status(),
            Err(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    async fn answer(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = request.send().await.expect("the request is answered");
        let status = response.status();
        let text = response.text().await.expect("a body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn post(&self, path: &str, body: &Value, token: Option<&str>) -> (StatusCode, Value) {
        self.post_raw(path, body.to_string(), token).await
    }

    pub async fn post_raw(
        &self,
        path: &str,
        body: String,
        token: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .post(format!("{}{path}", self.api))
            .header("content-type", "application/json")
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        Self::answer(request).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut request = self.http.get(format!("{}{path}", self.api));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        Self::answer(request).await
    }

    pub async fn scrape(&self) -> String {
        self.http
            .get(&self.metrics)
            .send()
            .await
            .expect("the metrics endpoint answers")
            .text()
            .await
            .expect("a scrape")
    }

    /// The sum of every sample of `name` whose labels include all of `labels`.
    pub async fn metric(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        metric_value(&self.scrape().await, name, labels)
    }

    /// Runs `sql` in the app's ClickHouse database; `Err` when ClickHouse is unreachable.
    pub async fn try_sql(&self, sql: &str) -> Result<String, String> {
        let response = self
            .http
            .post(format!(
                "{}/?database={}",
                self.clickhouse_url, self.database
            ))
            .body(sql.to_owned())
            .send()
            .await
            .map_err(|err| err.to_string())?;
        let ok = response.status().is_success();
        let body = response.text().await.map_err(|err| err.to_string())?;
        if ok { Ok(body) } else { Err(body) }
    }

    pub async fn sql(&self, sql: &str) -> String {
        self.try_sql(sql)
            .await
            .unwrap_or_else(|err| panic!("{sql}: {err}"))
    }

    /// A single number from `sql`.
    pub async fn number(&self, sql: &str) -> u64 {
        let text = self.sql(sql).await;
        text.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{sql} gave {text:?}"))
    }

    /// Waits until `sql` returns `expected`, then returns it.
    pub async fn wait_for_number(&self, what: &str, sql: &str, expected: u64) {
        wait_until(what, WAIT, || async {
            matches!(self.try_sql(sql).await, Ok(text) if text.trim() == expected.to_string())
        })
        .await;
    }
}

pub fn metric_value(scrape: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter(|line| {
            labels
                .iter()
                .all(|(key, value)| line.contains(&format!("{key}=\"{value}\"")))
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A client event of `event_type` in `session`, with a fresh id.
pub fn event(event_type: &str, session: &str, at: DateTime<Utc>) -> Value {
    json!({
        "event_id": Uuid::now_v7(),
        "event_type": event_type,
        "client_id": "test-client",
        "session_id": session,
        "occurred_at": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "app_version": "1.0.0",
        "system": {"os": "linux", "arch": "x86_64"},
    })
}

impl TestApp {
    async fn jetstream_context(&self) -> async_nats::jetstream::Context {
        let client = async_nats::connect(&self.nats_url)
            .await
            .expect("connect to NATS");
        async_nats::jetstream::new(client)
    }

    /// How many messages the client-event stream holds.
    pub async fn client_event_stream_messages(&self) -> u64 {
        let jetstream = self.jetstream_context().await;
        let mut stream = jetstream
            .get_stream(self.bus.client_event_stream())
            .await
            .expect("the client-event stream");
        stream.info().await.expect("stream info").state.messages
    }

    /// The stored dead letters of `selection`.
    pub async fn dead_letters(
        &self,
        selection: &fechatter_events::dead_letters::Selection,
    ) -> Vec<fechatter_events::dead_letters::DeadLetter> {
        let jetstream = self.jetstream_context().await;
        fechatter_events::dead_letters::list(&jetstream, &self.bus, selection)
            .await
            .expect("listing dead letters")
    }

    /// Re-drives the dead letters of `selection`, as `dead_letters redrive` does.
    pub async fn redrive(
        &self,
        selection: &fechatter_events::dead_letters::Selection,
        replacement: Option<Vec<u8>>,
    ) -> Vec<u64> {
        let jetstream = self.jetstream_context().await;
        fechatter_events::dead_letters::redrive(
            &jetstream,
            &self.bus,
            selection,
            replacement.map(Into::into),
        )
        .await
        .expect("re-driving dead letters")
    }
}
