//! The default provider: `fechatter_search`'s hashed n-grams, the same function fechatter_server
//! embeds queries with.

use fechatter_search::HashedNgrams;
use fechatter_search::embedding::DimensionsOutOfRange;

use super::{Embedder, EmbeddingError};

pub struct OfflineEmbedder {
    hashed: HashedNgrams,
    model: String,
}

impl OfflineEmbedder {
    pub fn new(dimensions: usize) -> Result<Self, DimensionsOutOfRange> {
        let hashed = HashedNgrams::new(dimensions)?;
        Ok(Self {
            hashed,
            model: hashed.model(),
        })
    }

    pub fn dimensions(&self) -> usize {
        self.hashed.dimensions()
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
        Ok(self.hashed.embed(text))
    }
}
