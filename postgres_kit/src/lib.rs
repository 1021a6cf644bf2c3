//! What every service that uses Postgres shares (fechatter_server and bot_server), so each
//! mechanism is written once:
//!
//! - [`PostgresSettings`]: `{PREFIX}_DATABASE_URL` and `{PREFIX}_DATABASE_MAX_CONNECTIONS`, and the
//!   lazy pool built from them (the service starts while Postgres is down);
//! - [`is_unavailable`] and [`ping`]: whether Postgres is away (as opposed to a bad query);
//! - [`PostgresMetrics`]: the service's `{prefix}_db_*` series, declared in its own
//!   `observability/metrics.rs` and recorded here.

mod metrics;

use std::time::Duration;

use env_config::{ConfigError, Env};
use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

pub use metrics::PostgresMetrics;

/// The URL every service defaults to: the compose database.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres:postgres@localhost:5432/fechatter";

/// How long a query waits for a free connection before it fails as unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

/// Where the service's Postgres is and how many connections it may hold.
#[derive(Debug, Clone)]
pub struct PostgresSettings {
    /// Holds credentials: never log it.
    pub url: SecretString,
    pub max_connections: u32,
}

impl PostgresSettings {
    /// `{PREFIX}_DATABASE_URL` (a `postgres://` or `postgresql://` URL, a secret) and
    /// `{PREFIX}_DATABASE_MAX_CONNECTIONS` (1–1000, `default_max_connections` when unset).
    pub fn from_env(env: &Env, default_max_connections: u32) -> Result<Self, ConfigError> {
        let url = env.url(
            "DATABASE_URL",
            DEFAULT_DATABASE_URL,
            &["postgres", "postgresql"],
        )?;
        Ok(Self {
            url: SecretString::from(url.to_string()),
            max_connections: env.bounded(
                "DATABASE_MAX_CONNECTIONS",
                default_max_connections,
                1,
                1000,
            )?,
        })
    }

    /// A pool that connects on first use, so the service starts (and reports itself not ready)
    /// while Postgres is down; its connections name `application_name` in `pg_stat_activity`.
    pub fn connect_lazy(&self, application_name: &str) -> Result<PgPool, sqlx::Error> {
        let options: PgConnectOptions = self.url.expose_secret().parse()?;
        Ok(PgPoolOptions::new()
            .max_connections(self.max_connections)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(options.application_name(application_name)))
    }
}

/// Whether `err` means Postgres cannot be reached or is refusing work right now (as opposed to a
/// bad query), so retrying later may succeed.
pub fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        // 08: connection exception; 57P01-03: shutting down / cannot connect now; 53300: too many
        // connections.
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}

/// Whether `err` says a table does not exist (`42P01`).
pub fn is_undefined_table(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.code().is_some_and(|code| code == "42P01"))
}

/// Whether Postgres answers a trivial query: the probe of health checks and consumers' gates.
pub async fn ping(pool: &PgPool) -> Result<(), String> {
    sqlx::query("SELECT 1")
        .execute(pool)
        .await
        .map(|_| ())
        .map_err(|err| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_default_to_the_compose_database_and_refuse_another_scheme() {
        let env = Env::from_map("SVC", [("SVC_DATABASE_MAX_CONNECTIONS", "7")]);
        let settings = PostgresSettings::from_env(&env, 10).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(settings.url.expose_secret(), DEFAULT_DATABASE_URL);
        assert_eq!(settings.max_connections, 7);
        let env = Env::from_map("SVC", [("SVC_DATABASE_URL", "mysql://u:p@h/db")]);
        let err = PostgresSettings::from_env(&env, 10).unwrap_err();
        assert!(err.to_string().starts_with("SVC_DATABASE_URL"), "{err}");
        assert!(
            !err.to_string().contains("u:p"),
            "credentials are never shown"
        );
    }

    #[test]
    fn a_pool_timeout_is_unavailability_and_a_missing_row_is_not() {
        assert!(is_unavailable(&sqlx::Error::PoolTimedOut));
        assert!(!is_unavailable(&sqlx::Error::RowNotFound));
        assert!(!is_undefined_table(&sqlx::Error::RowNotFound));
    }
}
