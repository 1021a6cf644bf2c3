//! The web client fechatter_server serves beside the API, and where it tells the client the
//! other services are.

use std::path::PathBuf;

use env_config::{ConfigError, Env};
use url::Url;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WebClientSettings {
    /// The built client (`web/dist`): served for every path outside `/api`. Unset: no client.
    pub dir: Option<PathBuf>,
    /// notify_server's base URL as the browser reaches it; unset, the client uses the page's
    /// host on port 6689.
    pub notify_url: Option<Url>,
    /// analytics_server's base URL as the browser reaches it; unset, the page's host on 7777.
    pub analytics_url: Option<Url>,
}

impl WebClientSettings {
    pub fn from(env: &Env) -> Result<Self, ConfigError> {
        let dir = env
            .optional_string("WEB_DIR")
            .filter(|text| !text.trim().is_empty())
            .map(PathBuf::from);
        if let Some(dir) = &dir
            && !dir.join("index.html").is_file()
        {
            return Err(ConfigError::Invalid {
                variable: env.variable("WEB_DIR"),
                value: dir.display().to_string(),
                reason: "no index.html there: build the client first (cd web && npm ci && npm run build)"
                    .to_owned(),
            });
        }
        Ok(Self {
            dir,
            notify_url: browser_url(env, "WEB_NOTIFY_URL")?,
            analytics_url: browser_url(env, "WEB_ANALYTICS_URL")?,
        })
    }
}

fn browser_url(env: &Env, name: &str) -> Result<Option<Url>, ConfigError> {
    let Some(text) = env
        .optional_string(name)
        .filter(|text| !text.trim().is_empty())
    else {
        return Ok(None);
    };
    let invalid = |reason: String| ConfigError::Invalid {
        variable: env.variable(name),
        value: text.clone(),
        reason,
    };
    let url = Url::parse(&text).map_err(|err| invalid(err.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid("an http(s) URL with a host".to_owned()));
    }
    Ok(Some(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<WebClientSettings, ConfigError> {
        WebClientSettings::from(&Env::from_map("FECHATTER", pairs.iter().copied()))
    }

    #[test]
    fn without_settings_no_client_is_served() {
        assert_eq!(settings(&[]), Ok(WebClientSettings::default()));
    }

    #[test]
    fn a_directory_without_index_html_stops_start_up() {
        let empty = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
        let dir = empty.path().display().to_string();
        let err = settings(&[("FECHATTER_WEB_DIR", &dir)]).expect_err("no index.html");
        assert!(err.to_string().starts_with("FECHATTER_WEB_DIR"), "{err}");
        std::fs::write(empty.path().join("index.html"), "<!doctype html>")
            .unwrap_or_else(|err| panic!("{err}"));
        assert!(settings(&[("FECHATTER_WEB_DIR", &dir)]).is_ok());
    }

    #[test]
    fn service_urls_must_be_http() {
        let err = settings(&[("FECHATTER_WEB_NOTIFY_URL", "nats://x:4222")]).expect_err("nats");
        assert!(
            err.to_string().starts_with("FECHATTER_WEB_NOTIFY_URL"),
            "{err}"
        );
        let ok = settings(&[("FECHATTER_WEB_ANALYTICS_URL", "https://stats.example.com")])
            .unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(
            ok.analytics_url.map(|u| u.to_string()),
            Some("https://stats.example.com/".to_owned())
        );
    }
}
