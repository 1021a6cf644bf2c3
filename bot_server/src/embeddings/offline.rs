//! The default provider: `fechatter_search`'s hashed n-grams, the same function fechatter_server
//! embeds queries with.

use fechatter_search::HashedNgrams;

use super::{Embedder, EmbeddingError};

pub struct OfflineEmbedder {
    hashed: Option<HashedNgrams>,
    dimensions: usize,
    model: String,
}

impl OfflineEmbedder {
    /// `dimensions` was validated by the configuration; out of range it embeds nothing (every call
    /// fails the dimension check) rather than panicking.
    pub fn new(dimensions: usize) -> Self {
        let hashed = HashedNgrams::new(dimensions).ok();
        let model = hashed.map(|h| h.model()).unwrap_or_default();
        Self {
            hashed,
            dimensions,
            model,
        }
    }

    pub fn dimensions(&self) -> usize {
        self.dimensions
    }
}

impl Embedder for OfflineEmbedder {
    fn provider(&self) -> &'static str {
        "offline"
    }

    fn model(&self) -> &str {
        &self.model
    }

    async fn embed(&self, text: &str) -> Result<Vec<f32>, EmbeddingError> {
        Ok(self.hashed.map(|h| h.embed(text)).unwrap_or_default())
    }
}
