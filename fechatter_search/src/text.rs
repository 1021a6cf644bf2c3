//! How message text is prepared for the index and how queries see it.
//!
//! Case folding happens here, in Rust, rather than in Postgres: `lower()` and the text-search parser
//! fold only ASCII under the C locale (what `initdb --no-locale` gives), so `Привет` would never match
//! `привет` there. Folding before storing makes search behave the same under every locale.

/// The text the index stores for a message: Unicode-lower-cased, whitespace runs collapsed.
pub fn search_text(content: &str) -> String {
    fold(content)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Unicode lower case, one output string for one input string.
pub fn fold(text: &str) -> String {
    text.to_lowercase()
}

/// Characters of scripts written without spaces between words (Han, kana, Thai, Lao, Khmer,
/// Myanmar). Postgres' text-search parser sees a whole run of them as one word, so a word inside
/// the run can only be found as a substring.
pub fn is_unspaced_script(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0EFF       // Thai, Lao
        | 0x1000..=0x109F     // Myanmar
        | 0x1780..=0x17FF     // Khmer
        | 0x3040..=0x30FF     // Hiragana, Katakana
        | 0x31F0..=0x31FF     // Katakana phonetic extensions
        | 0x3400..=0x4DBF     // CJK extension A
        | 0x4E00..=0x9FFF     // CJK unified ideographs
        | 0xF900..=0xFAFF     // CJK compatibility ideographs
        | 0xFF66..=0xFF9F     // half-width Katakana
        | 0x20000..=0x2FA1F // CJK extensions B–F, compatibility supplement
    )
}

/// The words of `text` as the embedder and the summariser see them: maximal runs of alphanumeric
/// characters, folded.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(fold)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_text_folds_every_script_and_collapses_whitespace() {
        assert_eq!(
            search_text("  Die GRÖSSE\n\tПривет  World "),
            "die grösse привет world"
        );
    }

    #[test]
    fn only_scripts_without_spaces_are_unspaced() {
        assert!("日本語テキストไทย".chars().all(is_unspaced_script));
        assert!(!"Größe привет 한국어".chars().any(is_unspaced_script));
    }

    #[test]
    fn words_split_on_punctuation() {
        let found: Vec<String> = words("x-request-id: Café, 42!").collect();
        assert_eq!(found, ["x", "request", "id", "café", "42"]);
    }
}
