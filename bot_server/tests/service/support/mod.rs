//! A real stack per test: its own Postgres database and JetStream stream on the shared servers,
//! fechatter_server as a child process, and bot_server in this process (so its metrics can be read).

#![allow(dead_code)]

pub mod api;
pub mod fechatter;
pub mod metrics;
pub mod model;

use std::time::Duration;

use bot_server::{Application, Config};
use env_config::Env;
use fechatter_events::EventBus;
use sqlx::PgPool;
use test_support::{Nats, Postgres, TestDatabase, unique_name, wait_until};
use tokio_util::sync::CancellationToken;

use fechatter::Fechatter;

/// The bot credential: fechatter_server's `FECHATTER_BOT_API_KEY`, bot_server's
/// `BOT_FECHATTER_API_KEY`.
pub const BOT_API_KEY: &str = "bot-integration-tests-credential-of-32-bytes-or-more";

/// A throw-away access-token key pair for this test process: (private PEM, public PEM).
pub fn token_keys() -> &'static (String, String) {
    static KEYS: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        fechatter_auth::generate_key_pair().unwrap_or_else(|err| panic!("a key pair: {err}"))
    })
}
/// Every wait in these tests is bounded by this unless a step needs longer.
pub const WAIT: Duration = Duration::from_secs(20);

#[derive(Default)]
pub struct StackOptions {
    /// Extra `BOT_*` settings.
    pub bot_env: Vec<(&'static str, String)>,
    /// Leave the bot stopped until [`Stack::start_bot`].
    pub defer_bot: bool,
    /// A Postgres server of the stack's own, which the test may stop.
    pub dedicated_postgres: bool,
}

pub struct RunningBot {
    pub base: String,
    pub metrics: String,
    shutdown: CancellationToken,
}

impl Drop for RunningBot {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub struct Stack {
    pub fechatter: Fechatter,
    pub bot: Option<RunningBot>,
    pub client: reqwest::Client,
    pub bus: EventBus,
    pub nats_url: String,
    pub database_url: String,
    /// The test's own pool on the shared database, to look at what was stored.
    pub pool: PgPool,
    bot_env: Vec<(&'static str, String)>,
    _database: TestDatabase,
    /// Dropped after the database above.
    pub postgres: Option<Postgres>,
}

impl Stack {
    pub async fn start() -> Stack {
        Self::start_with(StackOptions::default()).await
    }

    pub async fn start_with(options: StackOptions) -> Stack {
        let postgres = match options.dedicated_postgres {
            true => Some(Postgres::dedicated().await),
            false => None,
        };
        let database = match &postgres {
            Some(postgres) => postgres.create_database().await,
            None => Postgres::shared().await.create_database().await,
        };
        let nats_url = Nats::shared().await.url();
        let bus = EventBus::isolated(&unique_name("bot"));
        let fechatter = Fechatter::start(&database.url, &nats_url, &bus).await;
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy(&database.url)
            .unwrap_or_else(|err| panic!("test pool: {err}"));
        let mut stack = Stack {
            fechatter,
            bot: None,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_else(|err| panic!("{err}")),
            bus,
            nats_url,
            database_url: database.url.clone(),
            pool,
            bot_env: options.bot_env,
            _database: database,
            postgres,
        };
        if !options.defer_bot {
            stack.start_bot().await;
        }
        stack
    }

    fn bot_config(&self) -> Config {
        let vars: Vec<(String, String)> = [
            ("HOST", "127.0.0.1".to_owned()),
            ("PORT", "0".to_owned()),
            ("METRICS_PORT", "0".to_owned()),
            ("DATABASE_URL", self.database_url.clone()),
            ("DATABASE_MAX_CONNECTIONS", "4".to_owned()),
            ("NATS_URL", self.nats_url.clone()),
            ("NATS_STREAM", self.bus.stream.clone()),
            ("NATS_SUBJECT_PREFIX", self.bus.subject_prefix.clone()),
            ("FECHATTER_API_KEY", BOT_API_KEY.to_owned()),
            ("FECHATTER_URL", self.fechatter.base.clone()),
            ("HEALTH_INTERVAL_MS", "200".to_owned()),
        ]
        .into_iter()
        // Later entries win: the test's own settings override the defaults above.
        .chain(self.bot_env.iter().cloned())
        .map(|(k, v)| (format!("BOT_{k}"), v))
        .collect();
        Config::from(&Env::from_map("BOT", vars)).unwrap_or_else(|err| panic!("bot config: {err}"))
    }

    /// Starts bot_server in this process (once per test: one metrics recorder per process) and
    /// waits until it is ready.
    pub async fn start_bot(&mut self) {
        self.start_bot_unready().await;
        let ready = format!("{}/ready", self.bot().base);
        wait_until("the bot to be ready", WAIT, || async {
            self.client
                .get(&ready)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        })
        .await;
    }

    /// Starts bot_server without waiting for it to be ready (its dependencies may be down).
    pub async fn start_bot_unready(&mut self) {
        let app = Application::build(self.bot_config())
            .await
            .unwrap_or_else(|err| panic!("building the bot: {err}"));
        let base = format!("http://{}", app.api_addr());
        let metrics = format!("http://{}/metrics", app.metrics_addr());
        let shutdown = CancellationToken::new();
        tokio::spawn(app.run(shutdown.clone()));
        self.bot = Some(RunningBot {
            base,
            metrics,
            shutdown,
        });
    }

    pub fn bot(&self) -> &RunningBot {
        self.bot
            .as_ref()
            .unwrap_or_else(|| panic!("the bot was not started"))
    }
}

impl Stack {
    pub async fn nats(&self) -> async_nats::Client {
        tokio::time::timeout(WAIT, async_nats::connect(&self.nats_url))
            .await
            .unwrap_or_else(|_| panic!("connecting to NATS timed out"))
            .unwrap_or_else(|err| panic!("connecting to NATS: {err}"))
    }

    /// Every event in the test's stream, in order.
    pub async fn stream_events(&self) -> Vec<fechatter_events::Envelope> {
        let jetstream = async_nats::jetstream::new(self.nats().await);
        let mut stream = jetstream
            .get_stream(&self.bus.stream)
            .await
            .unwrap_or_else(|err| panic!("the stream: {err}"));
        let state = stream
            .info()
            .await
            .unwrap_or_else(|err| panic!("stream info: {err}"))
            .state
            .clone();
        let mut events = Vec::new();
        for sequence in state.first_sequence..=state.last_sequence {
            if let Ok(message) = stream.get_raw_message(sequence).await
                && let Ok(envelope) = fechatter_events::Envelope::from_json(&message.payload)
            {
                events.push(envelope);
            }
        }
        events
    }

    /// Stores `payload` in the stream under `subject` as a new stream message (no `Nats-Msg-Id`,
    /// so JetStream keeps it even when it repeats an earlier one).
    pub async fn publish(&self, subject: String, payload: Vec<u8>) {
        let jetstream = async_nats::jetstream::new(self.nats().await);
        jetstream
            .publish(subject, payload.into())
            .await
            .unwrap_or_else(|err| panic!("publish: {err}"))
            .await
            .unwrap_or_else(|err| panic!("publish ack: {err}"));
    }
}

impl Stack {
    /// The stored dead letters of `selection` (the shared `dead_letters` command's reading).
    pub async fn dead_letters(
        &self,
        selection: &fechatter_events::dead_letters::Selection,
    ) -> Vec<fechatter_events::dead_letters::DeadLetter> {
        let jetstream = async_nats::jetstream::new(self.nats().await);
        fechatter_events::dead_letters::list(&jetstream, &self.bus, selection)
            .await
            .unwrap_or_else(|err| panic!("listing dead letters: {err}"))
    }

    /// Waits until exactly `count` dead letters of `consumer` are stored, and returns them.
    pub async fn wait_for_dead_letters(
        &self,
        consumer: &str,
        count: usize,
    ) -> Vec<fechatter_events::dead_letters::DeadLetter> {
        let selection = fechatter_events::dead_letters::Selection {
            consumer: Some(consumer.to_owned()),
            ids: Vec::new(),
        };
        test_support::eventually(&format!("{count} dead letters of {consumer}"), WAIT, || {
            let selection = selection.clone();
            async move {
                let letters = self.dead_letters(&selection).await;
                (letters.len() == count).then_some(letters)
            }
        })
        .await
    }

    /// Re-drives the dead letters of `selection`, as the `dead_letters redrive` command does.
    pub async fn redrive(
        &self,
        selection: &fechatter_events::dead_letters::Selection,
        replacement: Option<Vec<u8>>,
    ) -> Vec<u64> {
        let jetstream = async_nats::jetstream::new(self.nats().await);
        fechatter_events::dead_letters::redrive(
            &jetstream,
            &self.bus,
            selection,
            replacement.map(Into::into),
        )
        .await
        .unwrap_or_else(|err| panic!("re-driving dead letters: {err}"))
    }
}
