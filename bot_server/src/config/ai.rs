//! The embedding provider and the language model, both optional outside services: without them the
//! bot embeds offline and answers by quoting the chat.

use std::time::Duration;

use env_config::{ConfigError, Env};
use fechatter_search::embedding::{DEFAULT_DIMENSIONS, MAX_DIMENSIONS, MIN_DIMENSIONS};
use secrecy::SecretString;
use url::Url;

const HTTP: &[&str] = &["http", "https"];

#[derive(Debug, Clone)]
pub struct EmbeddingSettings {
    /// The length of every stored vector; a provider answering with another length is an error.
    pub dimensions: usize,
    pub provider: EmbeddingProvider,
}

#[derive(Debug, Clone)]
pub enum EmbeddingProvider {
    /// Hashed word and character n-grams (`fechatter_search::HashedNgrams`): no network, no key.
    Offline,
    /// An OpenAI-compatible `POST {url}/embeddings`.
    Http {
        url: Url,
        /// Sent as a bearer token; never logged.
        api_key: Option<SecretString>,
        model: String,
        timeout: Duration,
    },
}

/// An OpenAI-compatible chat-completions endpoint.
#[derive(Debug, Clone)]
pub struct LlmSettings {
    /// The API base, e.g. `https://api.openai.com/v1`: requests go to `{url}/chat/completions`,
    /// the health check to `{url}/models`.
    pub url: Url,
    /// Sent as a bearer token; never logged.
    pub api_key: Option<SecretString>,
    pub model: String,
    pub timeout: Duration,
    pub max_tokens: u32,
}

pub(super) fn embeddings(env: &Env) -> Result<EmbeddingSettings, ConfigError> {
    let dimensions = env.bounded(
        "EMBEDDING_DIMENSIONS",
        DEFAULT_DIMENSIONS,
        MIN_DIMENSIONS,
        MAX_DIMENSIONS,
    )?;
    let url = env
        .optional_string("EMBEDDING_URL")
        .map(|_| env.url("EMBEDDING_URL", "", HTTP))
        .transpose()?;
    let provider = match url {
        None => EmbeddingProvider::Offline,
        Some(url) => EmbeddingProvider::Http {
            url,
            api_key: env
                .optional_string("EMBEDDING_API_KEY")
                .map(SecretString::from),
            model: env.string("EMBEDDING_MODEL", "text-embedding-3-small"),
            timeout: env.bounded_millis("EMBEDDING_TIMEOUT_MS", 10_000, 100, 120_000)?,
        },
    };
    Ok(EmbeddingSettings {
        dimensions,
        provider,
    })
}

pub(super) fn llm(env: &Env) -> Result<Option<LlmSettings>, ConfigError> {
    let Some(url) = env
        .optional_string("LLM_URL")
        .map(|_| env.url("LLM_URL", "", HTTP))
        .transpose()?
    else {
        return Ok(None);
    };
    Ok(Some(LlmSettings {
        url,
        api_key: env.optional_string("LLM_API_KEY").map(SecretString::from),
        model: env.string("LLM_MODEL", "gpt-4o-mini"),
        timeout: env.bounded_millis("LLM_TIMEOUT_MS", 30_000, 100, 300_000)?,
        max_tokens: env.bounded("LLM_MAX_TOKENS", 512, 16, 8192)?,
    }))
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_map("BOT", pairs.iter().map(|(k, v)| (*k, *v)))
    }

    #[test]
    fn an_embedding_url_selects_the_http_provider() {
        let settings = embeddings(&env(&[
            ("BOT_EMBEDDING_URL", "http://127.0.0.1:9/v1"),
            ("BOT_EMBEDDING_API_KEY", "sk-test"),
            ("BOT_EMBEDDING_DIMENSIONS", "64"),
        ]))
        .unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(settings.dimensions, 64);
        let EmbeddingProvider::Http { api_key, model, .. } = settings.provider else {
            panic!("expected the HTTP provider");
        };
        assert_eq!(
            api_key.map(|key| key.expose_secret().to_owned()).as_deref(),
            Some("sk-test")
        );
        assert_eq!(model, "text-embedding-3-small");
    }

    #[test]
    fn bad_values_name_their_variable_and_hide_urls() {
        let err = llm(&env(&[("BOT_LLM_URL", "file:///etc/passwd")])).unwrap_err();
        assert!(err.to_string().starts_with("BOT_LLM_URL"), "{err}");
        assert!(!err.to_string().contains("passwd"), "{err}");
        let err = embeddings(&env(&[("BOT_EMBEDDING_DIMENSIONS", "3")])).unwrap_err();
        assert!(
            err.to_string().starts_with("BOT_EMBEDDING_DIMENSIONS"),
            "{err}"
        );
    }

    #[test]
    fn the_key_never_shows_in_debug_output() {
        let settings = llm(&env(&[
            ("BOT_LLM_URL", "https://llm.example.com/v1"),
            ("BOT_LLM_API_KEY", "sk-very-secret"),
        ]))
        .unwrap_or_else(|err| panic!("{err}"));
        assert!(!format!("{settings:?}").contains("sk-very-secret"));
    }
}
