//! An OpenAI-compatible embeddings API: `POST {url}/embeddings` with `{model, input, dimensions}`,
//! answering `{data: [{embedding: [...]}]}`.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;
use url::Url;

use super::{Embedder, EmbeddingError};

pub struct HttpEmbedder {
    client: reqwest::Client,
    endpoint: String,
    api_key: Option<SecretString>,
    model: String,
    dimensions: usize,
    timeout: Duration,
}

#[derive(Deserialize)]
struct Answer {
    data: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    embedding: Vec<f32>,
}

impl HttpEmbedder {
    pub fn new(
        client: reqwest::Client,
        url: &Url,
        api_key: Option<SecretString>,
        model: String,
        dimensions: usize,
        timeout: Duration,
    ) -> Self {
        Self {
            client,
            endpoint: format!("{}/embeddings", url.as_str().trim_end_matches('/')),
            api_key,
            model,
            dimensions,
            timeout,
        }
    }

    pub fn dimensions(&self) -> usize {
        self.dimensions
    }
}

impl Embedder for HttpEmbedder {
    fn provider(&self) -> &'static str {
        "http"
    }

    fn model(&self) -> &str {
        &self.model
    }

    async fn embed(&self, text: &str) -> Result<Vec<f32>, EmbeddingError> {
        // `dimensions` asks models that can shorten their vectors (OpenAI's v3) for the configured
        // length; the caller checks the length either way.
        let mut request = self
            .client
            .post(&self.endpoint)
            .timeout(self.timeout)
            .json(&json!({"model": self.model, "input": text, "dimensions": self.dimensions}));
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key.expose_secret());
        }
        let response = request
            .send()
            .await
            .map_err(|err| EmbeddingError::Request(err.without_url().to_string()))?;
        if !response.status().is_success() {
            return Err(EmbeddingError::Status(response.status().as_u16()));
        }
        let answer: Answer = response
            .json()
            .await
            .map_err(|err| EmbeddingError::Malformed(err.without_url().to_string()))?;
        answer
            .data
            .into_iter()
            .next()
            .map(|item| item.embedding)
            .ok_or_else(|| EmbeddingError::Malformed("no embedding in the answer".to_owned()))
    }
}
