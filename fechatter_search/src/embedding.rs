//! The offline embedder: feature hashing ("the hashing trick") of words, word pairs and character
//! trigrams into a fixed number of dimensions, L2-normalised. It needs no network, no key and no
//! model file, and it is deterministic (FNV-1a, not the randomly seeded std hasher), so bot_server
//! can embed messages and fechatter_server can embed queries independently and get comparable
//! vectors. Messages sharing words, or parts of words (trigrams catch "deploy"/"deployment" and text
//! in scripts without spaces), point in similar directions. English function words are left out.

use crate::stopwords::is_stopword;
use crate::text::words;

pub const DEFAULT_DIMENSIONS: usize = 512;
pub const MIN_DIMENSIONS: usize = 16;
pub const MAX_DIMENSIONS: usize = 4096;

const WORD_WEIGHT: f32 = 1.0;
const PAIR_WEIGHT: f32 = 0.5;
/// The trigrams of one word share this much weight, so long words do not drown short ones.
const TRIGRAMS_WEIGHT: f32 = 1.0;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("embedding dimensions must be between {MIN_DIMENSIONS} and {MAX_DIMENSIONS}, not {0}")]
pub struct DimensionsOutOfRange(pub usize);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashedNgrams {
    dimensions: usize,
}

/// FNV-1a, 64 bits: stable across processes, platforms and Rust versions.
fn fnv1a(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, part) in parts.iter().enumerate() {
        // A separator byte that no UTF-8 text contains keeps ("ab","c") apart from ("a","bc").
        let separator: &[u8] = if i == 0 { &[] } else { &[0xff] };
        for byte in separator.iter().chain(part.as_bytes()) {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}

impl HashedNgrams {
    pub fn new(dimensions: usize) -> Result<Self, DimensionsOutOfRange> {
        if (MIN_DIMENSIONS..=MAX_DIMENSIONS).contains(&dimensions) {
            Ok(Self { dimensions })
        } else {
            Err(DimensionsOutOfRange(dimensions))
        }
    }

    pub fn dimensions(&self) -> usize {
        self.dimensions
    }

    /// The name stored beside each vector: vectors are only compared with vectors of the same
    /// model, and the dimension is part of it.
    pub fn model(&self) -> String {
        format!("fechatter-hashed-ngrams-v1-{}", self.dimensions)
    }

    fn add(&self, vector: &mut [f32], parts: &[&str], weight: f32) {
        let hash = fnv1a(parts);
        let index = (hash % self.dimensions as u64) as usize;
        // An independent bit picks the sign, so collisions cancel out on average instead of piling up.
        let sign = if (hash >> 63) == 1 { -1.0 } else { 1.0 };
        vector[index] += sign * weight;
    }

    /// The unit vector of `text`; all zeros when the text has no words.
    pub fn embed(&self, text: &str) -> Vec<f32> {
        let mut vector = vec![0.0f32; self.dimensions];
        let all: Vec<String> = words(text).collect();
        // Function words would make every English text look alike; a text of nothing else keeps them.
        let content: Vec<String> = all.iter().filter(|w| !is_stopword(w)).cloned().collect();
        let words = if content.is_empty() { all } else { content };
        for word in &words {
            self.add(&mut vector, &["w", word], WORD_WEIGHT);
            let marked: Vec<char> = std::iter::once('\u{2}')
                .chain(word.chars())
                .chain(std::iter::once('\u{3}'))
                .collect();
            let trigrams: Vec<String> = marked
                .windows(3)
                .map(|window| window.iter().collect())
                .collect();
            let weight = TRIGRAMS_WEIGHT / (trigrams.len().max(1) as f32).sqrt();
            for trigram in &trigrams {
                self.add(&mut vector, &["t", trigram], weight);
            }
        }
        for pair in words.windows(2) {
            self.add(&mut vector, &["p", &pair[0], &pair[1]], PAIR_WEIGHT);
        }
        normalise(&mut vector);
        vector
    }
}

fn normalise(vector: &mut [f32]) {
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        vector.iter_mut().for_each(|x| *x /= norm);
    }
}

/// The cosine similarity of two vectors of the same length; `None` when the lengths differ or one
/// of them is zero.
pub fn cosine(a: &[f32], b: &[f32]) -> Option<f32> {
    if a.len() != b.len() {
        return None;
    }
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norms =
        a.iter().map(|x| x * x).sum::<f32>().sqrt() * b.iter().map(|x| x * x).sum::<f32>().sqrt();
    (norms > 0.0).then(|| dot / norms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn embedder() -> HashedNgrams {
        HashedNgrams::new(DEFAULT_DIMENSIONS).unwrap_or_else(|err| panic!("{err}"))
    }

    #[test]
    fn vectors_are_unit_length_and_deterministic() {
        let vector = embedder().embed("The deployment is scheduled for Friday");
        let norm: f32 = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "{norm}");
        assert_eq!(
            vector,
            embedder().embed("the DEPLOYMENT is scheduled for friday")
        );
        assert_eq!(vector.len(), DEFAULT_DIMENSIONS);
    }

    #[test]
    fn related_texts_are_closer_than_unrelated_ones() {
        let e = embedder();
        let query = e.embed("when do we deploy");
        let related = e.embed("the deployment is scheduled for friday");
        let unrelated = e.embed("lunch menu has pasta and salad");
        let near = cosine(&query, &related).unwrap_or_default();
        let far = cosine(&query, &unrelated).unwrap_or_default();
        assert!(near > far + 0.05, "related {near} vs unrelated {far}");
    }

    #[test]
    fn text_without_words_is_the_zero_vector() {
        let vector = embedder().embed("?! …");
        assert!(vector.iter().all(|x| *x == 0.0));
        assert_eq!(cosine(&vector, &embedder().embed("word")), None);
    }

    #[test]
    fn dimensions_are_checked_and_named_in_the_model() {
        assert_eq!(HashedNgrams::new(3), Err(DimensionsOutOfRange(3)));
        assert_eq!(embedder().model(), "fechatter-hashed-ngrams-v1-512");
        assert_eq!(cosine(&[1.0, 0.0], &[1.0]), None);
    }

    #[test]
    fn the_hash_is_stable() {
        // Changing the hash changes every stored vector: this pins it.
        assert_eq!(fnv1a(&["a"]), 0xaf63_dc4c_8601_ec8c);
    }
}
