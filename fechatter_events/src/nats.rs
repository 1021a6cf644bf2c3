//! Connecting to NATS the same way in every service: never failing at start-up, reconnecting forever,
//! and probing health without publishing.

use std::time::Duration;

use async_nats::connection::State;
use async_nats::{Client, ConnectOptions};
use env_config::{ConfigError, Env};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

/// `{PREFIX}_NATS_URL`, by default the local server of `docs/design/topology.md`.
pub fn url_from_env(env: &Env) -> Result<Url, ConfigError> {
    env.url("NATS_URL", "nats://localhost:4222", &["nats", "tls"])
}

/// How a service signs in to NATS: as a user of `nats/nats-server.conf`, whose permissions say
/// what it may publish and subscribe to.
#[derive(Clone, Default)]
pub struct NatsAuth {
    user: Option<String>,
    password: Option<SecretString>,
}

impl std::fmt::Debug for NatsAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsAuth")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl NatsAuth {
    /// The user whose inbox prefix replies come to, if any.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// `options` signing in as this user, with replies to `_INBOX_<user>.…`, a prefix only that
    /// user may subscribe to, so no service reads another's replies (JetStream API answers,
    /// pulled messages).
    pub fn apply(&self, mut options: ConnectOptions) -> ConnectOptions {
        if let (Some(user), Some(password)) = (&self.user, &self.password) {
            options = options.user_and_password(user.clone(), password.expose_secret().to_owned());
        }
        if let Some(user) = &self.user {
            options = options.custom_inbox_prefix(format!("_INBOX_{user}"));
        }
        options
    }
}

/// `{PREFIX}_NATS_USER` (default `default_user`, the service's user in `nats/nats-server.conf`)
/// with `{PREFIX}_NATS_PASSWORD` or `{PREFIX}_NATS_PASSWORD_FILE`; without a password the
/// service connects anonymously (or with the credentials of `{PREFIX}_NATS_URL`, whose user then
/// names its inbox).
pub fn auth_from_env(env: &Env, default_user: &str) -> Result<NatsAuth, ConfigError> {
    let password = env.secret_or_file("NATS_PASSWORD", 1)?;
    let url_user = url_from_env(env)
        .ok()
        .map(|url| url.username().to_owned())
        .filter(|user| !user.is_empty());
    let user = match &password {
        Some(_) => Some(env.string("NATS_USER", default_user)),
        None => url_user,
    };
    Ok(NatsAuth { user, password })
}

/// Where a service's NATS is and who it signs in as.
#[derive(Debug, Clone)]
pub struct NatsSettings {
    pub url: Url,
    pub auth: NatsAuth,
}

impl NatsSettings {
    /// `{PREFIX}_NATS_URL` (see [`url_from_env`]) and the user of [`auth_from_env`].
    pub fn from_env(env: &Env, default_user: &str) -> Result<Self, ConfigError> {
        Ok(Self {
            url: url_from_env(env)?,
            auth: auth_from_env(env, default_user)?,
        })
    }

    /// [`connect_as`] this service's user, named `client_name` in the server's connection list.
    pub async fn connect(&self, client_name: &str) -> Result<Client, async_nats::ConnectError> {
        connect_as(self.url.as_str(), client_name, &self.auth).await
    }
}

/// Connects in the background: returns at once even when NATS is down, then keeps retrying.
pub async fn connect(url: &str, client_name: &str) -> Result<Client, async_nats::ConnectError> {
    connect_as(url, client_name, &NatsAuth::default()).await
}

/// [`connect`] as `auth`'s user (see [`NatsAuth::apply`]).
pub async fn connect_as(
    url: &str,
    client_name: &str,
    auth: &NatsAuth,
) -> Result<Client, async_nats::ConnectError> {
    let name = client_name.to_owned();
    auth.apply(ConnectOptions::new())
        .name(client_name)
        .retry_on_initial_connect()
        .connection_timeout(Duration::from_secs(2))
        .max_reconnects(None)
        .reconnect_delay_callback(|attempt| {
            // Capped exponential backoff so a returning NATS is noticed within two seconds.
            let millis = 50u64.saturating_mul(1 << attempt.min(6));
            Duration::from_millis(millis.min(2_000))
        })
        .event_callback(move |event| {
            let name = name.clone();
            async move { tracing::info!(client = %name, %event, "nats connection event") }
        })
        .connect(url)
        .await
}

/// The health probe from `docs/design/health.md`: the connection must be up and a JetStream round trip
/// (account info) must answer. Never publishes.
pub async fn probe(client: &Client) -> Result<(), String> {
    if client.connection_state() != State::Connected {
        return Err(format!(
            "connection {}",
            describe(client.connection_state())
        ));
    }
    // A raw `$JS.API.INFO` round trip: async-nats' typed account info requires fields
    // (`reserved_memory`, `reserved_storage`) that NATS 2.9 does not send.
    let response = client
        .request("$JS.API.INFO", Default::default())
        .await
        .map_err(|err| format!("jetstream account info failed: {err}"))?;
    let body: serde_json::Value = serde_json::from_slice(&response.payload)
        .map_err(|err| format!("jetstream account info unreadable: {err}"))?;
    match body.get("error") {
        Some(error) => Err(format!("jetstream account info failed: {error}")),
        None => Ok(()),
    }
}

fn describe(state: State) -> &'static str {
    match state {
        State::Connected => "connected",
        State::Disconnected => "disconnected",
        State::Pending => "pending",
    }
}

/// Capped exponential backoff with jitter that never gives up: dependencies may return at any time.
pub fn retry_forever() -> impl Iterator<Item = Duration> {
    use backon::BackoffBuilder;
    backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(Duration::from_secs(5))
        .with_jitter()
        .without_max_times()
        .build()
}

/// Runs `attempt` until it succeeds, sleeping with [`retry_forever`] between failures; `None` when
/// `shutdown` is cancelled first. Failures are logged with `what`.
pub async fn until_ok<T, E, F, Fut>(
    what: &str,
    shutdown: &tokio_util::sync::CancellationToken,
    mut attempt: F,
) -> Option<T>
where
    E: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let mut delays = retry_forever();
    loop {
        let outcome = tokio::select! {
            _ = shutdown.cancelled() => return None,
            outcome = attempt() => outcome,
        };
        match outcome {
            Ok(value) => return Some(value),
            Err(err) => {
                let delay = delays.next().unwrap_or(Duration::from_secs(5));
                tracing::warn!(error = %err, ?delay, "{what} failed; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => return None,
                    _ = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_signs_in_as_the_service_user_unless_another_is_named() {
        let auth = |pairs: &[(&str, &str)]| {
            auth_from_env(&Env::from_map("NOTIFY", pairs.iter().copied()), "notify")
                .map(|auth| auth.user().map(str::to_owned))
        };
        assert_eq!(auth(&[]), Ok(None));
        assert_eq!(
            auth(&[("NOTIFY_NATS_PASSWORD", "pw")]),
            Ok(Some("notify".into()))
        );
        assert_eq!(
            auth(&[
                ("NOTIFY_NATS_PASSWORD", "pw"),
                ("NOTIFY_NATS_USER", "notify2")
            ]),
            Ok(Some("notify2".into()))
        );
        assert_eq!(
            auth(&[("NOTIFY_NATS_URL", "nats://notify:pw@nats:4222")]),
            Ok(Some("notify".into()))
        );
    }
}
