//! The settings every service reads the same way from `{PREFIX}_*` variables: where it listens, how
//! it logs, how often it checks its dependencies and how long it drains on shutdown.

use std::time::Duration;

use env_config::{ConfigError, Env};

use crate::telemetry::LogFormat;

/// Where a service listens; port 0 asks the OS for a free port (tests).
#[derive(Debug, Clone)]
pub struct Listen {
    pub host: String,
    pub port: u16,
    pub metrics_port: u16,
}

#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// `{PREFIX}_HOST`, `{PREFIX}_PORT`, `{PREFIX}_METRICS_PORT`
    pub listen: Listen,
    /// `{PREFIX}_LOG_FORMAT`: pretty or json
    pub log_format: LogFormat,
    /// `{PREFIX}_LOG`: a `tracing` filter; `RUST_LOG` overrides it
    pub log_filter: String,
    /// `{PREFIX}_HEALTH_INTERVAL_MS`: how often the checks run in the background to keep the status
    /// gauges current
    pub health_interval: Duration,
    /// `{PREFIX}_DRAIN_DELAY_MS`: how long to keep accepting traffic after `/ready` turns 503 on
    /// shutdown, so a load balancer notices first
    pub drain_delay: Duration,
    /// `{PREFIX}_HEADER_READ_TIMEOUT_MS`: how long a connection may take to send a request's
    /// headers (and how long it may stay idle between requests) before it is closed
    pub header_read_timeout: Duration,
    /// `{PREFIX}_REQUEST_TIMEOUT_MS`: how long a request may take until its response starts
    /// (reading the body included); streamed response bodies (SSE, downloads) and WebSockets after
    /// the upgrade are not limited by it. Applied by each service with
    /// `fechatter_http::RequestTimeoutLayer`, which answers 408 `request_timeout`.
    pub request_timeout: Duration,
}

impl RuntimeConfig {
    /// Reads the runtime settings, defaulting to the service's ports from `docs/design/topology.md`.
    pub fn from_env(env: &Env, port: u16, metrics_port: u16) -> Result<Self, ConfigError> {
        Ok(Self {
            listen: Listen {
                host: env.string("HOST", "0.0.0.0"),
                port: env.port("PORT", port)?,
                metrics_port: env.port("METRICS_PORT", metrics_port)?,
            },
            log_format: env.parse("LOG_FORMAT", LogFormat::Pretty)?,
            log_filter: env.string("LOG", "info"),
            health_interval: env.millis("HEALTH_INTERVAL_MS", Duration::from_secs(5))?,
            drain_delay: env.millis("DRAIN_DELAY_MS", Duration::ZERO)?,
            header_read_timeout: env.bounded_millis(
                "HEADER_READ_TIMEOUT_MS",
                10_000,
                100,
                600_000,
            )?,
            request_timeout: env.bounded_millis("REQUEST_TIMEOUT_MS", 30_000, 100, 3_600_000)?,
        })
    }
}

/// What each variable read here means, for the generated environment table of
/// `docs/development.md` (by name without the prefix).
pub const ENV_NOTES: &[(&str, &str)] = &[
    ("HOST", "the address the API and metrics ports listen on"),
    (
        "PORT",
        "the API (and `/health`, `/ready`, `/live`); 0 = any free port (tests)",
    ),
    ("METRICS_PORT", "`GET /metrics`; 0 = any free port (tests)"),
    ("LOG_FORMAT", "`pretty` or `json`"),
    ("LOG", "a `tracing` filter; `RUST_LOG` overrides it"),
    (
        "HEALTH_INTERVAL_MS",
        "how often the health checks run in the background",
    ),
    (
        "DRAIN_DELAY_MS",
        "on shutdown, how long traffic is still accepted after `/ready` turns 503",
    ),
    (
        "HEADER_READ_TIMEOUT_MS",
        "a connection that has not sent a request's headers within this time, or stays idle between requests for it, is closed (API and metrics ports)",
    ),
    (
        "REQUEST_TIMEOUT_MS",
        "a request whose response has not started by then gets 408 `request_timeout`; streamed bodies (SSE, downloads) and WebSockets after the upgrade are not limited by it",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_come_from_the_service_and_values_from_its_prefix() {
        let env = Env::from_map("SVC", [("SVC_PORT", "0"), ("SVC_LOG_FORMAT", "json")]);
        let config = RuntimeConfig::from_env(&env, 6688, 9090).expect("valid");
        assert_eq!((config.listen.port, config.listen.metrics_port), (0, 9090));
        assert_eq!(config.log_format, LogFormat::Json);
        assert_eq!(config.health_interval, Duration::from_secs(5));
        assert_eq!(
            (config.header_read_timeout, config.request_timeout),
            (Duration::from_secs(10), Duration::from_secs(30))
        );
    }

    #[test]
    fn a_bad_interval_names_its_variable() {
        let env = Env::from_map("SVC", [("SVC_HEALTH_INTERVAL_MS", "soon")]);
        let err = RuntimeConfig::from_env(&env, 1, 2).expect_err("invalid");
        assert!(
            err.to_string().starts_with("SVC_HEALTH_INTERVAL_MS"),
            "{err}"
        );
    }
}
