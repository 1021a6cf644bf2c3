//! A fechatter_server running in this test process (zero2prod's `spawn_app`), on real Postgres and
//! NATS from `test_support`, isolated per test: its own database, JetStream stream and subjects.

#![allow(dead_code)]

pub mod events;
pub mod files;
pub mod http;
pub mod metrics;
pub mod ws;

use std::sync::OnceLock;
use std::time::Duration;

use env_config::Env;
use fechatter_events::EventBus;
use fechatter_server::{AppState, Application, Config};
use serde_json::{Value, json};
use sqlx::PgPool;
use test_support::{Nats, Postgres, TestDatabase, unique_name, wait_until};
use tokio_util::sync::CancellationToken;

/// The credential bot_server would present for its bots' tokens.
pub const BOT_API_KEY: &str = "integration-tests-bot-credential-of-32-bytes-or-more";

/// A throw-away access-token key pair for this test process: (private PEM, public PEM).
pub fn token_keys() -> &'static (String, String) {
    static KEYS: OnceLock<(String, String)> = OnceLock::new();
    KEYS.get_or_init(|| {
        fechatter_auth::generate_key_pair().unwrap_or_else(|err| panic!("a key pair: {err}"))
    })
}
pub const PASSWORD: &str = "correct horse battery";
/// Every wait in these tests is bounded by this unless a step needs longer.
pub const WAIT: Duration = Duration::from_secs(15);

/// Where the app's dependencies are, and extra `FECHATTER_*` settings.
#[derive(Default)]
pub struct AppOptions {
    pub database_url: Option<String>,
    pub nats_url: Option<String>,
    /// Another app's stream and subjects, to run a second instance beside it.
    pub bus: Option<EventBus>,
    pub env: Vec<(&'static str, String)>,
    /// Do not wait for `/ready` (for tests whose dependencies are down).
    pub skip_ready: bool,
}

pub struct TestApp {
    pub base: String,
    pub metrics_url: String,
    pub client: reqwest::Client,
    pub bus: EventBus,
    pub database_url: String,
    pub nats_url: String,
    /// A pool of the test's own on the app's database, to check what was stored.
    pub pool: PgPool,
    /// The app's file store.
    pub files_dir: std::path::PathBuf,
    /// The app's own state, for tests that must reach inside (its caches).
    pub state: AppState,
    /// The app's background tasks.
    pub supervisor: service_kit::Supervisor,
    shutdown: CancellationToken,
    _database: Option<TestDatabase>,
    _files: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A signed-up user and their tokens.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: i64,
    pub workspace_id: i64,
    pub handle: String,
    pub email: String,
    pub token: String,
    pub refresh_token: String,
}

pub fn config(
    database_url: &str,
    nats_url: &str,
    bus: &EventBus,
    extra: &[(&str, String)],
) -> Config {
    let mut vars: Vec<(String, String)> = [
        ("HOST", "127.0.0.1".to_owned()),
        ("PORT", "0".to_owned()),
        ("METRICS_PORT", "0".to_owned()),
        ("DATABASE_URL", database_url.to_owned()),
        ("DATABASE_MAX_CONNECTIONS", "8".to_owned()),
        ("NATS_URL", nats_url.to_owned()),
        ("NATS_STREAM", bus.stream.clone()),
        ("NATS_SUBJECT_PREFIX", bus.subject_prefix.clone()),
        ("JWT_PRIVATE_KEY", token_keys().0.clone()),
        ("BOT_API_KEY", BOT_API_KEY.to_owned()),
        // Cheap hashing: the cost parameters are not what these tests check.
        ("ARGON2_MEMORY_KIB", "64".to_owned()),
        ("ARGON2_ITERATIONS", "1".to_owned()),
        ("HEALTH_INTERVAL_MS", "200".to_owned()),
        ("OUTBOX_POLL_INTERVAL_MS", "200".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (format!("FECHATTER_{k}"), v))
    .collect();
    vars.extend(
        extra
            .iter()
            .map(|(k, v)| (format!("FECHATTER_{k}"), v.clone())),
    );
    Config::from(&Env::from_map("FECHATTER", vars)).unwrap_or_else(|err| panic!("config: {err}"))
}

impl TestApp {
    /// An app on the shared Postgres (a fresh database) and the shared NATS (its own stream).
    pub async fn spawn() -> TestApp {
        Self::spawn_with(AppOptions::default()).await
    }

    pub async fn spawn_with(options: AppOptions) -> TestApp {
        let (database_url, database) = match options.database_url {
            Some(url) => (url, None),
            None => {
                let database = Postgres::shared().await.create_database().await;
                (database.url.clone(), Some(database))
            }
        };
        let nats_url = match options.nats_url {
            Some(url) => url,
            None => Nats::shared().await.url(),
        };
        let bus = options
            .bus
            .unwrap_or_else(|| EventBus::isolated(&unique_name("t")));
        let files = tempfile::tempdir().unwrap_or_else(|err| panic!("files dir: {err}"));
        let files_dir = files.path().join("store");
        let mut env = vec![("FILES_DIR", files_dir.display().to_string())];
        env.extend(options.env.iter().cloned());
        let config = config(&database_url, &nats_url, &bus, &env);
        let app = Application::build(config)
            .await
            .unwrap_or_else(|err| panic!("building the app: {err}"));
        let base = format!("http://{}", app.api_addr());
        let metrics_url = format!("http://{}/metrics", app.metrics_addr());
        let state = app.state().clone();
        let shutdown = CancellationToken::new();
        let supervisor = app.supervisor();
        tokio::spawn(app.run(shutdown.clone()));
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(2))
            .connect_lazy(&database_url)
            .unwrap_or_else(|err| panic!("test pool: {err}"));
        let app = TestApp {
            base,
            metrics_url,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_else(|err| panic!("{err}")),
            bus,
            database_url,
            nats_url,
            pool,
            files_dir,
            state,
            supervisor,
            shutdown,
            _database: database,
            _files: files,
        };
        if !options.skip_ready {
            app.wait_ready().await;
        }
        app
    }

    /// Stops the app as a shutdown signal would.
    pub fn shut_down(&self) {
        self.shutdown.cancel();
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn wait_ready(&self) {
        wait_until("the app to be ready", WAIT, || async {
            self.client
                .get(self.url("/ready"))
                .send()
                .await
                .is_ok_and(|response| response.status() == 200)
        })
        .await;
    }

    /// Signs up the owner of a new workspace.
    pub async fn owner(&self, name: &str, workspace: &str) -> TestUser {
        let email = format!("{name}.{}@example.com", unique_name("u"));
        let reply = self
            .post(
                None,
                "/api/signup",
                json!({"fullname": name, "email": email, "password": PASSWORD, "workspace": workspace, "handle": name}),
            )
            .await;
        reply.expect(201);
        TestUser::from_tokens(&reply.body, email)
    }

    /// Signs up a member of `owner`'s workspace through an invite.
    pub async fn member(&self, owner: &TestUser, name: &str) -> TestUser {
        let invite = self
            .post(Some(owner), "/api/workspace/invites", json!({}))
            .await;
        invite.expect(201);
        let email = format!("{name}.{}@example.com", unique_name("u"));
        let reply = self
            .post(
                None,
                "/api/signup",
                json!({"fullname": name, "email": email, "password": PASSWORD,
                       "invite_code": invite.body["code"], "handle": name}),
            )
            .await;
        reply.expect(201);
        TestUser::from_tokens(&reply.body, email)
    }

    /// Creates a chat owned by `owner` with these other members; its id.
    pub async fn chat(
        &self,
        owner: &TestUser,
        chat_type: &str,
        name: Option<&str>,
        members: &[&TestUser],
    ) -> i64 {
        let ids: Vec<i64> = members.iter().map(|user| user.id).collect();
        let mut body = json!({"chat_type": chat_type, "members": ids});
        if let Some(name) = name {
            body["name"] = json!(name);
        }
        let reply = self.post(Some(owner), "/api/chats", body).await;
        reply.expect(201);
        reply.id()
    }

    /// Sends a message; its id.
    pub async fn send(&self, user: &TestUser, chat: i64, content: &str) -> i64 {
        let reply = self
            .post(
                Some(user),
                &format!("/api/chats/{chat}/messages"),
                json!({"content": content}),
            )
            .await;
        reply.expect(201);
        reply.id()
    }

    /// A count from the app's database.
    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(&self.pool)
            .await
            .unwrap_or_else(|err| panic!("{sql}: {err}"))
    }
}

impl TestUser {
    fn from_tokens(body: &Value, email: String) -> TestUser {
        TestUser {
            id: body["user"]["id"].as_i64().unwrap_or_default(),
            workspace_id: body["user"]["workspace_id"].as_i64().unwrap_or_default(),
            handle: body["user"]["handle"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            email,
            token: body["access_token"].as_str().unwrap_or_default().to_owned(),
            refresh_token: body["refresh_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        }
    }
}
