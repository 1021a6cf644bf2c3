//! Cross-origin access for browsers. The web client is served by fechatter_server, so notify's
//! event stream and analytics' ingestion are other origins: they allow the configured origins
//! (`{PREFIX}_CORS_ORIGINS`, comma-separated, default fechatter_server's local origins, `none` for
//! no browser access from elsewhere) to send
//! `Authorization` (and `Last-Event-ID` for a resumed stream). Tokens travel in a header, never in
//! cookies, so credentials mode is not needed and stays off.

use std::time::Duration;

use env_config::{ConfigError, Env};
use http::{HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};
use url::Url;

/// fechatter_server's origin as `scripts/up` and compose publish it.
pub const DEFAULT_ORIGINS: &str = "http://localhost:6688,http://127.0.0.1:6688";

/// How long a browser may cache a preflight answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// The origins allowed to call a service from a browser; empty allows none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedOrigins(Vec<String>);

impl AllowedOrigins {
    /// Reads `{PREFIX}_CORS_ORIGINS`: `scheme://host[:port]` entries, each without a path.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let variable = env.variable("CORS_ORIGINS");
        let text = env.string("CORS_ORIGINS", DEFAULT_ORIGINS);
        let mut origins = Vec::new();
        if text.eq_ignore_ascii_case("none") {
            return Ok(Self(origins));
        }
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let invalid = |reason: &str| ConfigError::Invalid {
                variable: variable.clone(),
                value: entry.to_owned(),
                reason: reason.to_owned(),
            };
            let url = Url::parse(entry).map_err(|err| invalid(&err.to_string()))?;
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err(invalid("an origin is http(s)://host[:port]"));
            }
            if url.path() != "/" || url.query().is_some() || !url.username().is_empty() {
                return Err(invalid("an origin has no path, query or user"));
            }
            origins.push(url.origin().ascii_serialization());
        }
        Ok(Self(origins))
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// The layer answering preflights and marking allowed responses; add it outermost on the API
    /// router so preflights are answered before routing and are not counted as API requests.
    pub fn layer(&self) -> CorsLayer {
        let origins: Vec<HeaderValue> = self
            .0
            .iter()
            .filter_map(|origin| HeaderValue::from_str(origin).ok())
            .collect();
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("last-event-id"),
            ])
            .expose_headers([header::RETRY_AFTER, HeaderName::from_static("x-request-id")])
            .max_age(PREFLIGHT_MAX_AGE)
    }
}

/// What each variable read here means, for the generated environment table of
/// `docs/development.md` (by name without the prefix).
pub const ENV_NOTES: &[(&str, &str)] = &[(
    "CORS_ORIGINS",
    "browser origins allowed to call with `Authorization` (and `Last-Event-ID`), comma-separated, `none` for none",
)];

#[cfg(test)]
mod tests {
    use super::*;

    fn origins(value: Option<&str>) -> Result<AllowedOrigins, ConfigError> {
        let vars: Vec<(&str, &str)> = value.map(|v| ("SVC_CORS_ORIGINS", v)).into_iter().collect();
        AllowedOrigins::from_env(&Env::from_map("SVC", vars))
    }

    #[test]
    fn the_default_is_fechatter_servers_local_origin() {
        let allowed = origins(None).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(
            allowed.as_slice(),
            ["http://localhost:6688", "http://127.0.0.1:6688"]
        );
    }

    #[test]
    fn origins_are_normalised_and_none_allows_none() {
        let allowed = origins(Some(
            " https://Chat.Example.com:443/ , http://10.0.0.5:8080",
        ))
        .unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(
            allowed.as_slice(),
            ["https://chat.example.com", "http://10.0.0.5:8080"]
        );
        assert!(
            origins(Some("none"))
                .unwrap_or_else(|err| panic!("{err}"))
                .as_slice()
                .is_empty()
        );
    }

    #[test]
    fn a_path_a_wildcard_or_another_scheme_names_the_variable() {
        for bad in [
            "https://chat.example.com/app",
            "*",
            "ftp://files.example.com",
        ] {
            let err = origins(Some(bad)).expect_err(bad);
            assert!(err.to_string().starts_with("SVC_CORS_ORIGINS"), "{err}");
        }
    }
}
