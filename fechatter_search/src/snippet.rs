//! Highlighted snippets: a window of the message around its first match, HTML-escaped, with every
//! match wrapped in `<mark>…</mark>`. Escaping makes the tags unambiguous whatever the message says.

use crate::query::{SearchQuery, Term};

/// Characters of message text shown around the matches.
pub const DEFAULT_SNIPPET_CHARS: usize = 160;

/// Where a needle may match and how far a match extends.
enum Needle {
    /// At the start of a word, extended to the end of that word (`deplo` marks "deployment").
    Prefix(Vec<char>),
    /// At the start of a word, exactly.
    Exact(Vec<char>),
    /// Anywhere.
    Substring(Vec<char>),
}

fn needles(query: &SearchQuery) -> Vec<Needle> {
    query
        .terms()
        .iter()
        .map(|term| match term {
            Term::Word(word) => Needle::Prefix(word.chars().collect()),
            Term::Phrase(phrase) => Needle::Exact(phrase.chars().collect()),
            Term::Substring(text) => Needle::Substring(text.chars().collect()),
        })
        .collect()
}

/// The content folded character by character, each folded character remembering which original
/// character it came from (folding may turn one character into several).
fn folded_with_origin(content: &[char]) -> (Vec<char>, Vec<usize>) {
    let mut folded = Vec::with_capacity(content.len());
    let mut origin = Vec::with_capacity(content.len());
    for (index, c) in content.iter().enumerate() {
        for lower in c.to_lowercase() {
            folded.push(lower);
            origin.push(index);
        }
    }
    (folded, origin)
}

/// Matched ranges of original character indices, sorted and merged.
fn matches(content: &[char], query: &SearchQuery) -> Vec<(usize, usize)> {
    let (folded, origin) = folded_with_origin(content);
    let mut ranges = Vec::new();
    for needle in needles(query) {
        let (chars, at_word_start) = match &needle {
            Needle::Prefix(chars) | Needle::Exact(chars) => (chars, true),
            Needle::Substring(chars) => (chars, false),
        };
        if chars.is_empty() || chars.len() > folded.len() {
            continue;
        }
        for start in 0..=folded.len() - chars.len() {
            if folded[start..start + chars.len()] != chars[..] {
                continue;
            }
            if at_word_start && start > 0 && folded[start - 1].is_alphanumeric() {
                continue;
            }
            let mut end = start + chars.len();
            if matches!(needle, Needle::Prefix(_)) {
                while end < folded.len() && folded[end].is_alphanumeric() {
                    end += 1;
                }
            }
            ranges.push((origin[start], origin[end - 1] + 1));
        }
    }
    ranges.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

fn escape_into(out: &mut String, chars: &[char]) {
    for c in chars {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(*other),
        }
    }
}

/// At most `max_chars` characters of `content` around its first match, HTML-escaped, matches in
/// `<mark>`; `…` marks text left out. With no match, the start of the message.
pub fn snippet(content: &str, query: &SearchQuery, max_chars: usize) -> String {
    let chars: Vec<char> = content.chars().collect();
    let ranges = matches(&chars, query);
    let max_chars = max_chars.max(1);
    let (start, end) = if chars.len() <= max_chars {
        (0, chars.len())
    } else {
        // A third of the window before the first match gives it context on both sides.
        let first = ranges.first().map_or(0, |(start, _)| *start);
        let start = first
            .saturating_sub(max_chars / 3)
            .min(chars.len() - max_chars);
        (start, start + max_chars)
    };
    let mut out = String::with_capacity(max_chars + 32);
    if start > 0 {
        out.push('…');
    }
    let mut at = start;
    for (from, to) in ranges {
        let (from, to) = (from.max(start), to.min(end));
        if from >= to {
            continue;
        }
        escape_into(&mut out, &chars[at..from]);
        out.push_str("<mark>");
        escape_into(&mut out, &chars[from..to]);
        out.push_str("</mark>");
        at = to;
    }
    escape_into(&mut out, &chars[at..end]);
    if end < chars.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snip(content: &str, query: &str) -> String {
        let query = SearchQuery::parse(query).unwrap_or_else(|err| panic!("{err}"));
        snippet(content, &query, DEFAULT_SNIPPET_CHARS)
    }

    #[test]
    fn a_prefix_marks_the_whole_word_at_word_starts_only() {
        assert_eq!(
            snip("The Deployment was redeployed", "deplo"),
            "The <mark>Deployment</mark> was redeployed"
        );
    }

    #[test]
    fn phrases_dashed_terms_and_urls_are_marked() {
        assert_eq!(
            snip(
                "our error budget & x-request-id <ok>",
                "\"error budget\" x-request-id"
            ),
            "our <mark>error budget</mark> &amp; <mark>x-request-id</mark> &lt;ok&gt;"
        );
        assert_eq!(
            snip("see https://example.com/a?b=1.", "https://example.com/a"),
            "see <mark>https://example.com/a</mark>?b=1."
        );
    }

    #[test]
    fn non_english_words_are_marked_whatever_their_case() {
        assert_eq!(
            snip(
                "Die Größe, ПРИВЕТ 日本語のテキスト",
                "größe привет テキスト"
            ),
            "Die <mark>Größe</mark>, <mark>ПРИВЕТ</mark> 日本語の<mark>テキスト</mark>"
        );
    }

    #[test]
    fn long_messages_are_cut_around_the_first_match() {
        let content = format!("{} needle {}", "a ".repeat(200), "b ".repeat(200));
        let snippet = snip(&content, "needle");
        assert!(
            snippet.starts_with('…') && snippet.ends_with('…'),
            "{snippet}"
        );
        assert!(snippet.contains("<mark>needle</mark>"));
        assert!(snippet.chars().count() < DEFAULT_SNIPPET_CHARS + 20);
    }
}
