//! `@handle`s: what users are called in mentions. A handle is 1–32 characters of `a-z 0-9 . _ -`,
//! starting with a letter or digit, unique within a workspace.

use std::collections::BTreeSet;

const MAX_LEN: usize = 32;
/// More distinct mentions than this in one message are ignored.
pub const MAX_MENTIONS: usize = 50;
/// Handles no human gets, chosen or derived: `bot` is the workspace assistant's.
const RESERVED: &[&str] = &["bot", "all", "here", "channel", "everyone"];

fn is_handle_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
}

pub fn is_valid(handle: &str) -> bool {
    !handle.is_empty()
        && handle.len() <= MAX_LEN
        && handle.starts_with(|c: char| c.is_ascii_alphanumeric())
        && handle.chars().all(is_handle_char)
}

pub fn is_reserved(handle: &str) -> bool {
    RESERVED.contains(&handle)
}

/// A handle for someone with this email: its local part made valid, e.g. `Ann.Lee+x@…` → `ann.lee`.
pub fn derive(email: &str) -> String {
    let local = email.split('@').next().unwrap_or_default();
    let local = local
        .split('+')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let cleaned: String = local
        .chars()
        .filter(|c| is_handle_char(*c))
        .skip_while(|c| !c.is_ascii_alphanumeric())
        .take(MAX_LEN - 4)
        .collect();
    let cleaned = cleaned.trim_end_matches(['.', '_', '-']).to_owned();
    if cleaned.is_empty() || is_reserved(&cleaned) {
        format!("{}user", cleaned.trim_end_matches(['.', '_', '-']))
    } else {
        cleaned
    }
}

/// `base`, or `base2`, `base3`, … whichever is not in `taken`.
pub fn first_free(base: &str, taken: &[String]) -> String {
    let taken: BTreeSet<&str> = taken.iter().map(String::as_str).collect();
    if !taken.contains(base) {
        return base.to_owned();
    }
    (2..)
        .map(|n| format!("{base}{n}"))
        .find(|candidate| !taken.contains(candidate.as_str()))
        .unwrap_or_else(|| base.to_owned())
}

/// The distinct handles mentioned in `content`, lower-cased. An `@` counts only at the start or
/// after a character that cannot be part of a handle or an email, so `ann@example.com` mentions
/// nobody; sentence punctuation after a handle is not part of it.
pub fn mentioned(content: &str) -> Vec<String> {
    let mut found = BTreeSet::new();
    let chars: Vec<char> = content.chars().collect();
    let mut i = 0;
    while i < chars.len() && found.len() < MAX_MENTIONS {
        let starts = chars[i] == '@'
            && (i == 0
                || !(chars[i - 1].is_alphanumeric()
                    || matches!(chars[i - 1], '.' | '_' | '-' | '@')));
        if !starts {
            i += 1;
            continue;
        }
        let handle: String = chars[i + 1..]
            .iter()
            .map(|c| c.to_ascii_lowercase())
            .take_while(|c| is_handle_char(*c))
            .collect();
        i += 1 + handle.chars().count();
        let handle = handle.trim_end_matches(['.', '_', '-']);
        if is_valid(handle) {
            found.insert(handle.to_owned());
        }
    }
    found.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_found_at_word_starts_only() {
        assert_eq!(
            mentioned("@Ann hi, ask @bob. and (@carol-x) but not ann@example.com"),
            vec!["ann", "bob", "carol-x"]
        );
        assert_eq!(mentioned("@bot summary @bot"), vec!["bot"]);
        assert!(mentioned("no @ here, nor @@ or @.").is_empty());
    }

    #[test]
    fn derived_handles_are_valid_and_never_reserved() {
        assert_eq!(derive("Ann.Lee+work@example.com"), "ann.lee");
        assert_eq!(derive("bot@example.com"), "botuser");
        assert_eq!(derive("__@example.com"), "user");
        for email in ["ÄÖ@x.y", "a@b", "-x-@y", &format!("{}@x", "a".repeat(80))] {
            assert!(is_valid(&derive(email)), "{email} → {}", derive(email));
        }
    }

    #[test]
    fn a_taken_handle_gets_the_first_free_number() {
        let taken = vec!["ann".to_owned(), "ann2".to_owned(), "anna".to_owned()];
        assert_eq!(first_free("ann", &taken), "ann3");
        assert_eq!(first_free("bob", &taken), "bob");
    }
}
