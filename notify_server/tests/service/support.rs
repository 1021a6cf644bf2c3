//! A notify_server on free ports against a real NATS, a producer of real envelopes, and an SSE
//! client with bounded waits.

use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use async_nats::jetstream;
use env_config::Env;
use eventsource_stream::{Event, Eventsource};
use fechatter_auth::{TokenSigner, WorkspaceRole};
use fechatter_events::payload::MessagePayload;
use fechatter_events::{
    ChatId, ChatType, Envelope, EventBus, EventKind, MessageId, UserId, WorkspaceId,
};
use futures::{Stream, StreamExt};
use notify_server::{Application, Config};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Generous for a loaded 2-core CI machine; waits return as soon as their condition holds.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// A throw-away key pair for this test process: (private PEM, public PEM). The tests sign tokens
/// as fechatter_server would; the service gets the public key only.
pub fn token_keys() -> &'static (String, String) {
    static KEYS: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        fechatter_auth::generate_key_pair().unwrap_or_else(|err| panic!("a key pair: {err}"))
    })
}

/// A signer with the test key pair's private key, tokens living `ttl`.
pub fn signer(ttl: Duration) -> TokenSigner {
    TokenSigner::from_private_pem(&token_keys().0, ttl).unwrap_or_else(|err| panic!("{err}"))
}
pub const WS: WorkspaceId = WorkspaceId(1);

pub struct TestApp {
    pub api: SocketAddr,
    pub metrics: SocketAddr,
    pub bus: EventBus,
    pub keys: TokenSigner,
    pub http: reqwest::Client,
    nats_url: String,
    shutdown: CancellationToken,
    running: Option<JoinHandle<()>>,
}

impl TestApp {
    /// A service on `nats_url` with its own stream and subjects, not waiting for readiness.
    pub async fn start(nats_url: &str, extra: &[(&str, &str)]) -> TestApp {
        let bus = EventBus::isolated(&test_support::unique_name("notify"));
        TestApp::start_on(nats_url, bus, extra).await
    }

    /// Another instance of the same service: the same NATS, stream and subjects as `self`.
    pub async fn sibling(&self, extra: &[(&str, &str)]) -> TestApp {
        let app = TestApp::start_on(&self.nats_url, self.bus.clone(), extra).await;
        app.wait_ready().await;
        app
    }

    /// A service on `nats_url` reading `bus`, not waiting for readiness.
    pub async fn start_on(nats_url: &str, bus: EventBus, extra: &[(&str, &str)]) -> TestApp {
        service_kit::telemetry::init(service_kit::telemetry::LogFormat::Pretty, "info");
        let mut vars = vec![
            ("NOTIFY_HOST", "127.0.0.1".to_owned()),
            ("NOTIFY_PORT", "0".to_owned()),
            ("NOTIFY_METRICS_PORT", "0".to_owned()),
            ("NOTIFY_NATS_URL", nats_url.to_owned()),
            ("NOTIFY_NATS_STREAM", bus.stream.clone()),
            ("NOTIFY_NATS_SUBJECT_PREFIX", bus.subject_prefix.clone()),
            ("NOTIFY_JWT_PUBLIC_KEY", token_keys().1.clone()),
            ("NOTIFY_HEALTH_INTERVAL_MS", "200".to_owned()),
            // Fast enough for a closed client to be noticed quickly.
            ("NOTIFY_SSE_KEEP_ALIVE_MS", "300".to_owned()),
            // A killed instance's users go offline within seconds.
            ("NOTIFY_PRESENCE_TTL_MS", "3000".to_owned()),
            ("NOTIFY_PRESENCE_HEARTBEAT_MS", "500".to_owned()),
        ];
        vars.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        let config = Config::from(&Env::from_map("NOTIFY", vars))
            .unwrap_or_else(|err| panic!("test configuration: {err}"));
        let app = Application::build(config)
            .await
            .unwrap_or_else(|err| panic!("build notify_server: {err}"));
        let (api, metrics) = (app.api_addr(), app.metrics_addr());
        let shutdown = CancellationToken::new();
        let running = tokio::spawn({
            let shutdown = shutdown.clone();
            async move {
                if let Err(err) = app.run(shutdown).await {
                    panic!("notify_server stopped: {err}");
                }
            }
        });
        TestApp {
            api,
            metrics,
            bus,
            keys: signer(fechatter_auth::DEFAULT_ACCESS_TOKEN_TTL),
            http: reqwest::Client::new(),
            nats_url: nats_url.to_owned(),
            shutdown,
            running: Some(running),
        }
    }

    /// A service on the shared NATS, ready (its consumer subscribed).
    pub async fn ready(extra: &[(&str, &str)]) -> TestApp {
        let nats = test_support::Nats::shared().await;
        let app = TestApp::start(&nats.url(), extra).await;
        app.wait_ready().await;
        app
    }

    pub async fn wait_ready(&self) {
        test_support::wait_until("notify_server to be ready", TIMEOUT, || async {
            self.get("/ready").await.status() == reqwest::StatusCode::OK
        })
        .await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.api, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|err| panic!("GET {path}: {err}"))
    }

    pub fn token(&self, user: i64) -> String {
        self.token_in(user, WS)
    }

    pub fn token_in(&self, user: i64, workspace: WorkspaceId) -> String {
        self.token_of_session(user, workspace, uuid::Uuid::now_v7())
    }

    /// A token of sign-in session `session`.
    pub fn token_of_session(
        &self,
        user: i64,
        workspace: WorkspaceId,
        session: uuid::Uuid,
    ) -> String {
        self.keys.issue(
            UserId(user),
            workspace,
            WorkspaceRole::Member,
            session,
            None,
        )
    }

    /// Opens `GET /events`; once this returns the connection is registered with the hub.
    pub async fn open(&self, user: i64, last_event_id: Option<&str>) -> SseClient {
        self.open_with_token(&self.token(user), last_event_id).await
    }

    pub async fn open_with_token(&self, token: &str, last_event_id: Option<&str>) -> SseClient {
        let mut request = self.http.get(self.url("/events")).bearer_auth(token);
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|err| panic!("GET /events: {err}"));
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        SseClient::new(response)
    }

    /// `GET /events` with `token`, whatever the answer.
    pub async fn request_events(&self, token: &str) -> reqwest::Response {
        self.http
            .get(self.url("/events"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap_or_else(|err| panic!("GET /events: {err}"))
    }

    /// A fresh connection, caught up: its `connected` event has arrived.
    pub async fn connect(&self, user: i64) -> SseClient {
        self.connect_with_token(&self.token(user)).await
    }

    pub async fn connect_with_token(&self, token: &str) -> SseClient {
        let mut client = self.open_with_token(token, None).await;
        let first = client.next().await;
        assert_eq!(first.event, "connected", "{first:?}");
        client
    }

    pub async fn jetstream(&self) -> jetstream::Context {
        let client = async_nats::connect(&self.nats_url)
            .await
            .unwrap_or_else(|err| panic!("connect to NATS: {err}"));
        jetstream::new(client)
    }

    /// The metrics page.
    pub async fn scrape(&self) -> String {
        self.http
            .get(format!("http://{}/metrics", self.metrics))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .unwrap_or_else(|err| panic!("GET /metrics: {err}"))
            .text()
            .await
            .unwrap_or_default()
    }

    /// The value of one series, e.g. `notify_sse_connections_closed_total{reason="slow_consumer"}`.
    pub async fn metric(&self, series: &str) -> Option<f64> {
        sample(&self.scrape().await, series)
    }

    pub async fn wait_for_metric(&self, series: &str, expected: f64) {
        test_support::wait_until(&format!("{series} to be {expected}"), TIMEOUT, || async {
            self.metric(series).await == Some(expected)
        })
        .await;
    }

    /// Waits until the service's log reader has read `count` stored events (of any kind), so a
    /// reconnect finds them in its ring rather than receiving some of them live.
    pub async fn wait_read(&self, count: u64) {
        test_support::wait_until(
            &format!("the log reader to have read {count} events"),
            TIMEOUT,
            || async { stored_events_read(&self.scrape().await) >= count as f64 },
        )
        .await;
    }

    /// Cancels the service and waits for it to stop; `false` if it did not within the timeout.
    pub async fn shut_down(&mut self) -> bool {
        self.shutdown.cancel();
        match self.running.take() {
            Some(running) => tokio::time::timeout(TIMEOUT, running).await.is_ok(),
            None => true,
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Stored events the log reader has read, by the metrics page.
fn stored_events_read(page: &str) -> f64 {
    page.lines()
        .filter(|line| {
            line.starts_with("notify_nats_messages_received_total{")
                && !line.contains("event=\"typing\"")
        })
        .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

/// The value of `series` in a Prometheus text page.
pub fn sample(page: &str, series: &str) -> Option<f64> {
    page.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse().ok()).flatten()
        })
}

/// Publishes real envelopes to the service's stream, as fechatter_server's outbox relay does.
pub struct Producer {
    jetstream: jetstream::Context,
    bus: EventBus,
}

impl Producer {
    pub async fn new(app: &TestApp) -> Producer {
        let jetstream = app.jetstream().await;
        app.bus
            .ensure_stream(&jetstream)
            .await
            .unwrap_or_else(|err| panic!("ensure stream: {err}"));
        Producer {
            jetstream,
            bus: app.bus.clone(),
        }
    }

    pub fn jetstream(&self) -> &jetstream::Context {
        &self.jetstream
    }

    /// Publishes `envelope` and returns its stream sequence.
    pub async fn publish_envelope(&self, envelope: &Envelope) -> u64 {
        let payload = envelope.to_json().unwrap_or_default();
        self.publish_raw(envelope.kind, &envelope.id.to_string(), payload)
            .await
    }

    pub async fn publish_raw(&self, kind: EventKind, msg_id: &str, payload: Vec<u8>) -> u64 {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", msg_id);
        self.jetstream
            .publish_with_headers(self.bus.subject(kind), headers, payload.into())
            .await
            .unwrap_or_else(|err| panic!("publish: {err}"))
            .await
            .unwrap_or_else(|err| panic!("JetStream ack: {err}"))
            .sequence
    }

    /// Publishes `session.revoked` for `user`'s `session`, as fechatter_server's outbox does.
    pub async fn revoke(&self, user: i64, session: uuid::Uuid) -> u64 {
        let envelope = Envelope::new(
            WS,
            None,
            Some(UserId(user)),
            vec![UserId(user)],
            &fechatter_events::Event::SessionRevoked(fechatter_events::payload::SessionRevoked {
                session_id: session,
                user_id: UserId(user),
                reason: fechatter_events::payload::RevocationReason::SignedOut,
            }),
        )
        .unwrap_or_else(|err| panic!("envelope: {err}"));
        self.publish_envelope(&envelope).await
    }

    /// Publishes an event of `kind` in `chat` for `recipients`; returns its stream sequence.
    pub async fn publish(&self, kind: EventKind, chat: i64, recipients: &[i64]) -> u64 {
        self.publish_envelope(&envelope(kind, chat, recipients, "hello"))
            .await
    }
}

/// A message envelope (the payload shape does not matter to notify, which forwards it as is).
pub fn envelope(kind: EventKind, chat: i64, recipients: &[i64], content: &str) -> Envelope {
    let sender = recipients.first().copied().unwrap_or(1);
    Envelope::unchecked(
        kind,
        WS,
        Some(ChatId(chat)),
        Some(UserId(sender)),
        recipients.iter().copied().map(UserId).collect(),
        &MessagePayload {
            id: MessageId(1),
            chat_id: ChatId(chat),
            chat_type: ChatType::Group,
            sender_id: UserId(sender),
            sender_is_bot: false,
            content: content.to_owned(),
            reply_to: None,
            mentions: Vec::new(),
            silenced_mentions: Vec::new(),
            files: Vec::new(),
            created_at: chrono::Utc::now(),
            edited_at: None,
        },
    )
    .unwrap_or_else(|err| panic!("envelope: {err}"))
}

type Events = Pin<Box<dyn Stream<Item = Result<Event, String>> + Send>>;

/// One SSE connection as a browser's EventSource would see it.
pub struct SseClient {
    events: Events,
}

/// Events notify produces itself besides domain events.
pub const SIGNALS: &[&str] = &["connected", "resync", "presence.changed", "typing"];

impl SseClient {
    fn new(response: reqwest::Response) -> SseClient {
        let events = response
            .bytes_stream()
            .eventsource()
            .map(|event| event.map_err(|err| err.to_string()));
        SseClient {
            events: Box::pin(events),
        }
    }

    /// The next event; panics when none arrives in time or the stream ends.
    pub async fn next(&mut self) -> Event {
        match tokio::time::timeout(TIMEOUT, self.events.next()).await {
            Ok(Some(Ok(event))) => event,
            Ok(Some(Err(err))) => panic!("SSE stream failed: {err}"),
            Ok(None) => panic!("SSE stream ended"),
            Err(_) => panic!("no SSE event within {TIMEOUT:?}"),
        }
    }

    /// The next event whose name is not one of `skip`.
    pub async fn next_except(&mut self, skip: &[&str]) -> Event {
        loop {
            let event = self.next().await;
            if !skip.contains(&event.event.as_str()) {
                return event;
            }
        }
    }

    /// The next stored domain event, skipping notify's own signals.
    pub async fn next_domain(&mut self) -> Event {
        self.next_except(SIGNALS).await
    }

    /// Waits for the server to end the stream.
    pub async fn closed(&mut self) -> Vec<Event> {
        let mut seen = Vec::new();
        loop {
            match tokio::time::timeout(TIMEOUT, self.events.next()).await {
                Ok(Some(Ok(event))) => seen.push(event),
                Ok(Some(Err(_)) | None) => return seen,
                Err(_) => panic!("the SSE stream did not end within {TIMEOUT:?}"),
            }
        }
    }
}

/// The JSON data of an event.
pub fn data(event: &Event) -> serde_json::Value {
    serde_json::from_str(&event.data)
        .unwrap_or_else(|err| panic!("event data is not JSON ({err}): {}", event.data))
}

/// The stream sequence of an SSE id (a cursor `epoch:sequence`).
pub fn seq(event: &Event) -> u64 {
    event
        .id
        .split_once(':')
        .and_then(|(_, seq)| seq.parse().ok())
        .unwrap_or_else(|| panic!("id {:?} is not a cursor", event.id))
}

/// The epoch of an SSE id.
pub fn epoch(event: &Event) -> String {
    event
        .id
        .split_once(':')
        .map(|(epoch, _)| epoch.to_owned())
        .unwrap_or_else(|| panic!("id {:?} is not a cursor", event.id))
}
