//! Reads a service's configuration from environment variables that share a prefix.
//!
//! Every value has a default (from `docs/design/topology.md`) and is validated when read, so a bad value stops
//! start-up with an error that names the variable; secret values are never echoed back.

use std::collections::HashMap;
use std::fmt::Display;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{variable}: invalid value {value:?}: {reason}")]
    Invalid {
        variable: String,
        value: String,
        reason: String,
    },
    #[error("{variable}: invalid value (hidden because it is secret): {reason}")]
    InvalidSecret { variable: String, reason: String },
    #[error("{variable}: must be set")]
    Missing { variable: String },
}

/// What a setting is when its variable is not set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fallback {
    /// This value.
    Value(String),
    /// Nothing: the feature it configures is off (or a secret with no default).
    Unset,
    /// Start-up fails without it.
    Required,
}

/// One variable a configuration read, as the code reads it: the documentation of the environment
/// (`docs/development.md`) is rendered from these, so it cannot drift from the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The name without the prefix, e.g. `PORT`.
    pub name: String,
    pub fallback: Fallback,
    /// The accepted range (`1–1000`), when the code bounds it.
    pub range: Option<String>,
    /// Also accepted as the path of a file holding it, in `{PREFIX}_{NAME}_FILE`.
    pub from_file: bool,
}

/// A view of the environment restricted to variables named `{PREFIX}_{NAME}`.
///
/// Built from an explicit map in tests, so tests never mutate the process environment. Every read
/// is remembered (clones share the record) so [`Env::settings_read`] can list them.
#[derive(Debug, Clone)]
pub struct Env {
    prefix: String,
    vars: HashMap<String, String>,
    read: Arc<Mutex<Vec<Setting>>>,
}

impl Env {
    /// Reads the process environment.
    pub fn from_process(prefix: &str) -> Self {
        Self::from_map(prefix, std::env::vars())
    }

    pub fn from_map<I, K, V>(prefix: &str, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self {
            prefix: prefix.to_owned(),
            vars: vars
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            read: Arc::default(),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Every setting read so far through this view or its clones, in the order first read.
    pub fn settings_read(&self) -> Vec<Setting> {
        self.read
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn record(&self, name: &str, fallback: Fallback, range: Option<String>, from_file: bool) {
        let mut read = self.read.lock().unwrap_or_else(PoisonError::into_inner);
        if read.iter().any(|setting| setting.name == name) {
            return;
        }
        read.push(Setting {
            name: name.to_owned(),
            fallback,
            range,
            from_file,
        });
    }

    /// The full variable name for `name`, e.g. `FECHATTER_PORT`.
    pub fn variable(&self, name: &str) -> String {
        format!("{}_{}", self.prefix, name)
    }

    fn raw(&self, name: &str) -> Option<(String, String)> {
        let variable = self.variable(name);
        self.vars
            .get(&variable)
            .filter(|value| !value.trim().is_empty())
            .map(|value| (variable, value.trim().to_owned()))
    }

    fn invalid(variable: String, value: String, reason: impl Display) -> ConfigError {
        ConfigError::Invalid {
            variable,
            value,
            reason: reason.to_string(),
        }
    }

    /// Any `FromStr` value.
    pub fn parse<T>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr + Display,
        T::Err: Display,
    {
        self.record(name, Fallback::Value(default.to_string()), None, false);
        self.parse_unrecorded(name, default)
    }

    fn parse_unrecorded<T>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        match self.raw(name) {
            None => Ok(default),
            Some((variable, value)) => value
                .parse()
                .map_err(|err| Self::invalid(variable, value, err)),
        }
    }

    pub fn string(&self, name: &str, default: &str) -> String {
        self.record(name, Fallback::Value(default.to_owned()), None, false);
        self.raw(name)
            .map(|(_, value)| value)
            .unwrap_or_else(|| default.to_owned())
    }

    pub fn optional_string(&self, name: &str) -> Option<String> {
        self.record(name, Fallback::Unset, None, false);
        self.raw(name).map(|(_, value)| value)
    }

    /// A TCP port; 0 asks the OS for a free one (used by tests).
    pub fn port(&self, name: &str, default: u16) -> Result<u16, ConfigError> {
        self.parse(name, default)
    }

    pub fn bool(&self, name: &str, default: bool) -> Result<bool, ConfigError> {
        self.record(name, Fallback::Value(default.to_string()), None, false);
        match self.raw(name) {
            None => Ok(default),
            Some((variable, value)) => match value.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Ok(true),
                "0" | "false" | "no" | "off" => Ok(false),
                _ => Err(Self::invalid(variable, value, "expected true or false")),
            },
        }
    }

    /// A number that must lie in `min..=max`.
    pub fn bounded<T>(&self, name: &str, default: T, min: T, max: T) -> Result<T, ConfigError>
    where
        T: FromStr + PartialOrd + Display + Copy,
        T::Err: Display,
    {
        self.record(
            name,
            Fallback::Value(default.to_string()),
            Some(format!("{min}–{max}")),
            false,
        );
        let value = self.parse_unrecorded(name, default)?;
        if value < min || value > max {
            return Err(Self::invalid(
                self.variable(name),
                value.to_string(),
                format!("must be between {min} and {max}"),
            ));
        }
        Ok(value)
    }

    /// A duration given in milliseconds that must lie in `min..=max` milliseconds (the variable
    /// is named `…_MS`).
    pub fn bounded_millis(
        &self,
        name: &str,
        default: u64,
        min: u64,
        max: u64,
    ) -> Result<Duration, ConfigError> {
        self.bounded(name, default, min, max)
            .map(Duration::from_millis)
    }

    /// A duration given in seconds that must lie in `min..=max` seconds (the variable is named
    /// `…_SECONDS`).
    pub fn bounded_seconds(
        &self,
        name: &str,
        default: u64,
        min: u64,
        max: u64,
    ) -> Result<Duration, ConfigError> {
        self.bounded(name, default, min, max)
            .map(Duration::from_secs)
    }

    /// A duration given in milliseconds.
    pub fn millis(&self, name: &str, default: Duration) -> Result<Duration, ConfigError> {
        let millis: u64 = self.parse(name, default.as_millis() as u64)?;
        Ok(Duration::from_millis(millis))
    }

    /// A URL whose scheme is one of `schemes`.
    ///
    /// Credentials inside a URL are secrets, so an invalid value is never echoed back.
    pub fn url(&self, name: &str, default: &str, schemes: &[&str]) -> Result<Url, ConfigError> {
        self.record(name, Fallback::Value(default.to_owned()), None, false);
        let (variable, value) = self
            .raw(name)
            .unwrap_or_else(|| (self.variable(name), default.to_owned()));
        let url = Url::parse(&value).map_err(|err| ConfigError::InvalidSecret {
            variable: variable.clone(),
            reason: err.to_string(),
        })?;
        if !schemes.contains(&url.scheme()) {
            return Err(ConfigError::InvalidSecret {
                variable,
                reason: format!("scheme must be one of {}", schemes.join(", ")),
            });
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(ConfigError::InvalidSecret {
                variable,
                reason: "a host is required".to_owned(),
            });
        }
        Ok(url)
    }

    /// A secret that must be at least `min_len` bytes long.
    pub fn secret(
        &self,
        name: &str,
        default: Option<&str>,
        min_len: usize,
    ) -> Result<SecretString, ConfigError> {
        // A secret's default is not documented by value.
        let fallback = match default {
            Some("") | None => Fallback::Unset,
            Some(_) => Fallback::Value("(built in)".to_owned()),
        };
        self.record(name, fallback, None, false);
        let (variable, value) = match (self.raw(name), default) {
            (Some(pair), _) => pair,
            (None, Some(default)) => (self.variable(name), default.to_owned()),
            (None, None) => {
                return Err(ConfigError::Missing {
                    variable: self.variable(name),
                });
            }
        };
        if value.len() < min_len {
            return Err(ConfigError::InvalidSecret {
                variable,
                reason: format!("must be at least {min_len} bytes long"),
            });
        }
        Ok(SecretString::from(value))
    }
}

impl Env {
    /// A secret given either inline as `{PREFIX}_{NAME}` or as the path of a file holding it in
    /// `{PREFIX}_{NAME}_FILE` (for key files and Docker-style secrets); `None` when neither is set.
    /// Setting both is an error, and so is a file that cannot be read; neither the value nor the
    /// file's content is ever echoed back.
    pub fn secret_or_file(
        &self,
        name: &str,
        min_len: usize,
    ) -> Result<Option<SecretString>, ConfigError> {
        self.record(name, Fallback::Unset, None, true);
        self.secret_or_file_unrecorded(name, min_len)
    }

    fn secret_or_file_unrecorded(
        &self,
        name: &str,
        min_len: usize,
    ) -> Result<Option<SecretString>, ConfigError> {
        let file_name = format!("{name}_FILE");
        let (variable, value) = match (self.raw(name), self.raw(&file_name)) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::InvalidSecret {
                    variable: self.variable(name),
                    reason: format!("set either it or {}, not both", self.variable(&file_name)),
                });
            }
            (Some(pair), None) => pair,
            (None, Some((variable, path))) => {
                let text = std::fs::read_to_string(&path).map_err(|err| ConfigError::Invalid {
                    variable: variable.clone(),
                    value: path.clone(),
                    reason: format!("cannot read the file: {err}"),
                })?;
                (variable, text.trim().to_owned())
            }
            (None, None) => return Ok(None),
        };
        if value.len() < min_len {
            return Err(ConfigError::InvalidSecret {
                variable,
                reason: format!("must be at least {min_len} bytes long"),
            });
        }
        Ok(Some(SecretString::from(value)))
    }

    /// Like [`Env::secret_or_file`], for a secret that must be given.
    pub fn required_secret_or_file(
        &self,
        name: &str,
        min_len: usize,
    ) -> Result<SecretString, ConfigError> {
        self.record(name, Fallback::Required, None, true);
        self.secret_or_file_unrecorded(name, min_len)?
            .ok_or_else(|| ConfigError::Missing {
                variable: format!(
                    "{} (or {})",
                    self.variable(&format!("{name}_FILE")),
                    self.variable(name)
                ),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_map("APP", pairs.iter().map(|(k, v)| (*k, *v)))
    }

    #[test]
    fn a_missing_variable_falls_back_to_its_default() {
        assert_eq!(env(&[]).port("PORT", 6688), Ok(6688));
    }

    #[test]
    fn an_invalid_port_is_an_error_naming_the_variable() {
        let err = env(&[("APP_PORT", "70000")]).port("PORT", 1).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("APP_PORT: invalid value \"70000\""),
            "{err}"
        );
    }

    #[test]
    fn a_url_with_the_wrong_scheme_is_rejected_without_echoing_it() {
        let err = env(&[("APP_DATABASE_URL", "mysql://user:hunter2@db/x")])
            .url(
                "DATABASE_URL",
                "postgres://localhost/x",
                &["postgres", "postgresql"],
            )
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("APP_DATABASE_URL"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn an_unparseable_url_is_rejected() {
        let err = env(&[("APP_NATS_URL", "not a url")])
            .url("NATS_URL", "nats://localhost:4222", &["nats"])
            .unwrap_err();
        assert!(err.to_string().contains("APP_NATS_URL"));
    }

    #[test]
    fn bounded_values_outside_the_range_are_rejected() {
        let err = env(&[("APP_LIMIT", "0")])
            .bounded("LIMIT", 50u32, 1, 100)
            .unwrap_err();
        assert!(err.to_string().contains("between 1 and 100"));
    }

    #[test]
    fn a_short_secret_is_rejected_without_echoing_it() {
        let err = env(&[("APP_JWT_SECRET", "abc")])
            .secret("JWT_SECRET", None, 32)
            .unwrap_err();
        assert!(!err.to_string().contains("abc"));
        let ok = env(&[]).secret("JWT_SECRET", Some("0123456789abcdef0123456789abcdef"), 32);
        assert_eq!(
            ok.map(|s| s.expose_secret().len()),
            Ok(32),
            "the default applies when unset"
        );
    }

    #[test]
    fn durations_are_read_in_their_unit_and_bounded_like_numbers() {
        let env = env(&[("APP_WAIT_MS", "250"), ("APP_TTL_SECONDS", "0")]);
        assert_eq!(
            env.bounded_millis("WAIT_MS", 1_000, 100, 60_000),
            Ok(Duration::from_millis(250))
        );
        assert_eq!(
            env.bounded_seconds("AGE_SECONDS", 30, 1, 3_600),
            Ok(Duration::from_secs(30))
        );
        let err = env
            .bounded_seconds("TTL_SECONDS", 30, 1, 3_600)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "APP_TTL_SECONDS: invalid value \"0\": must be between 1 and 3600"
        );
        let ranges: Vec<_> = env
            .settings_read()
            .into_iter()
            .map(|setting| (setting.name, setting.range))
            .collect();
        assert_eq!(
            ranges[0],
            ("WAIT_MS".to_owned(), Some("100–60000".to_owned()))
        );
    }

    #[test]
    fn every_setting_read_is_listed_once_with_its_fallback() {
        let env = env(&[("APP_PORT", "1")]);
        let clone = env.clone();
        let _ = clone.port("PORT", 6688);
        let _ = env.bounded("LIMIT", 50u32, 1, 100);
        let _ = env.optional_string("URL");
        let _ = env.required_secret_or_file("KEY", 1);
        let _ = env.port("PORT", 1);
        let read = env.settings_read();
        let summary: Vec<_> = read
            .iter()
            .map(|s| {
                (
                    s.name.as_str(),
                    s.fallback.clone(),
                    s.range.as_deref(),
                    s.from_file,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("PORT", Fallback::Value("6688".into()), None, false),
                ("LIMIT", Fallback::Value("50".into()), Some("1–100"), false),
                ("URL", Fallback::Unset, None, false),
                ("KEY", Fallback::Required, None, true),
            ]
        );
    }

    #[test]
    fn booleans_accept_common_spellings() {
        assert_eq!(env(&[("APP_X", "yes")]).bool("X", false), Ok(true));
        assert!(env(&[("APP_X", "maybe")]).bool("X", false).is_err());
    }

    #[test]
    fn a_secret_comes_inline_or_from_a_file_but_not_both() {
        let dir = std::env::temp_dir().join(format!("env-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|err| panic!("{err}"));
        let file = dir.join("key");
        std::fs::write(&file, "from-the-file-0123456789\n").unwrap_or_else(|err| panic!("{err}"));
        let path = file.display().to_string();
        let read = |pairs: &[(&str, &str)]| {
            env(pairs)
                .secret_or_file("KEY", 8)
                .map(|s| s.map(|s| s.expose_secret().to_owned()))
        };
        assert_eq!(read(&[]), Ok(None));
        assert_eq!(
            read(&[("APP_KEY", "inline-value")]),
            Ok(Some("inline-value".into()))
        );
        assert_eq!(
            read(&[("APP_KEY_FILE", &path)]),
            Ok(Some("from-the-file-0123456789".into()))
        );
        let both = read(&[("APP_KEY", "inline-value"), ("APP_KEY_FILE", &path)]).unwrap_err();
        assert!(both.to_string().starts_with("APP_KEY:"), "{both}");
        let missing = read(&[("APP_KEY_FILE", "/no/such/file")]).unwrap_err();
        assert!(
            missing.to_string().starts_with("APP_KEY_FILE:"),
            "{missing}"
        );
        let required = env(&[]).required_secret_or_file("KEY", 1).unwrap_err();
        assert_eq!(
            required.to_string(),
            "APP_KEY_FILE (or APP_KEY): must be set"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
