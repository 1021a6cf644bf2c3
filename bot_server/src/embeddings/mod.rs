//! Embedding providers: the offline hashed n-gram embedder by default, an OpenAI-compatible HTTP
//! API when configured. Every vector is checked against the configured dimension before it is
//! stored; a failed embedding leaves the message searchable lexically.

mod http;
mod offline;

use std::future::Future;
use std::time::Instant;

pub use http::HttpEmbedder;
pub use offline::OfflineEmbedder;

use fechatter_search::embedding::DimensionsOutOfRange;

use crate::config::{EmbeddingProvider, EmbeddingSettings};
use crate::observability::metrics::EmbeddingMetrics;

#[derive(Debug, thiserror::Error)]
pub enum EmbeddingError {
    #[error("the embedding request failed: {0}")]
    Request(String),
    #[error("the embedding provider answered {0}")]
    Status(u16),
    #[error("the embedding provider's answer is unreadable: {0}")]
    Malformed(String),
    #[error("the embedding has {got} dimensions, not the configured {expected}")]
    Dimensions { expected: usize, got: usize },
}

/// One way of turning text into a vector.
pub trait Embedder: Send + Sync {
    /// The metric label: `offline` or `http`.
    fn provider(&self) -> &'static str;
    /// Stored beside each vector: only vectors of the same model are compared.
    fn model(&self) -> &str;
    fn embed(&self, text: &str) -> impl Future<Output = Result<Vec<f32>, EmbeddingError>> + Send;
}

/// A vector and the model that made it.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedding {
    pub vector: Vec<f32>,
    pub model: String,
}

/// The configured provider.
pub enum Embeddings {
    Offline(OfflineEmbedder),
    Http(HttpEmbedder),
}

impl Embeddings {
    pub fn new(
        settings: &EmbeddingSettings,
        client: reqwest::Client,
    ) -> Result<Self, DimensionsOutOfRange> {
        Ok(match &settings.provider {
            EmbeddingProvider::Offline => Self::Offline(OfflineEmbedder::new(settings.dimensions)?),
            EmbeddingProvider::Http {
                url,
                api_key,
                model,
                timeout,
            } => Self::Http(HttpEmbedder::new(
                client,
                url,
                api_key.clone(),
                model.clone(),
                settings.dimensions,
                *timeout,
            )),
        })
    }

    pub fn model(&self) -> &str {
        match self {
            Self::Offline(embedder) => embedder.model(),
            Self::Http(embedder) => embedder.model(),
        }
    }

    fn dimensions(&self) -> usize {
        match self {
            Self::Offline(embedder) => embedder.dimensions(),
            Self::Http(embedder) => embedder.dimensions(),
        }
    }

    async fn run(&self, text: &str) -> (&'static str, Result<Vec<f32>, EmbeddingError>) {
        match self {
            Self::Offline(embedder) => (embedder.provider(), embedder.embed(text).await),
            Self::Http(embedder) => (embedder.provider(), embedder.embed(text).await),
        }
    }

    /// The checked embedding of `text`, or `None` (counted and logged) when the provider failed.
    pub async fn embed(&self, text: &str) -> Option<Embedding> {
        let started = Instant::now();
        let (provider, result) = self.run(text).await;
        let expected = self.dimensions();
        let result = result.and_then(|vector| {
            if vector.len() == expected {
                Ok(vector)
            } else {
                Err(EmbeddingError::Dimensions {
                    expected,
                    got: vector.len(),
                })
            }
        });
        EmbeddingMetrics::embedded(provider, result.is_ok(), started.elapsed());
        match result {
            Ok(vector) => Some(Embedding {
                vector,
                model: self.model().to_owned(),
            }),
            Err(err) => {
                tracing::warn!(error = %err, provider, "embedding failed; indexing without a vector");
                None
            }
        }
    }
}
