//! The synthetic send-receive probe (`BOT_PROBE_*`): on when a canary password is set
//! (`BOT_PROBE_PASSWORD`, or the file `BOT_PROBE_PASSWORD_FILE` names, which compose and the
//! native runner generate with the deployment's other secrets).

use std::time::Duration;

use env_config::{ConfigError, Env};
use secrecy::SecretString;
use url::Url;

/// fechatter_server's own minimum; a longer one is no burden for a machine.
const MIN_PASSWORD_LEN: usize = 12;

#[derive(Debug, Clone)]
pub struct ProbeSettings {
    /// The canary users' password: they sign up with it once and sign in with it after. Never logged.
    pub password: SecretString,
    /// notify_server, where the receiving canary listens (the bot already knows fechatter_server).
    pub notify_url: Url,
    /// Time between two probes.
    pub interval: Duration,
    /// A message not received this long after it was sent is a failed probe.
    pub timeout: Duration,
}

pub(super) fn probe(env: &Env) -> Result<Option<ProbeSettings>, ConfigError> {
    let Some(password) = env.secret_or_file("PROBE_PASSWORD", MIN_PASSWORD_LEN)? else {
        return Ok(None);
    };
    let interval = env.bounded_millis("PROBE_INTERVAL_MS", 30_000, 1_000, 3_600_000)?;
    let timeout = env.bounded_millis("PROBE_TIMEOUT_MS", 10_000, 100, 300_000)?;
    Ok(Some(ProbeSettings {
        password,
        notify_url: env.url(
            "PROBE_NOTIFY_URL",
            "http://localhost:6689",
            &["http", "https"],
        )?,
        interval,
        timeout,
    }))
}
