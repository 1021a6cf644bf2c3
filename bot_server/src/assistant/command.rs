//! What a message asks the assistant: `@bot search <terms>`, `@bot summary`, `@bot help`, or
//! anything else, which is a question.

use crate::repo::bots::HANDLE;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Search(String),
    Summary,
    Help,
    Question(String),
}

fn is_handle_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

/// The message without its `@bot` mentions, found the way fechatter_server finds mentions: an `@`
/// at a word start, then handle characters minus trailing punctuation, in any case.
fn without_mentions(content: &str) -> String {
    let mut out = String::with_capacity(content.len());
    let mut flushed = 0;
    let mut previous: Option<char> = None;
    for (at, c) in content.char_indices() {
        let starts_word =
            previous.is_none_or(|p| !(p.is_alphanumeric() || matches!(p, '.' | '_' | '-' | '@')));
        previous = Some(c);
        if c != '@' || !starts_word || at < flushed {
            continue;
        }
        let tail = &content[at + 1..];
        let len = tail
            .find(|c: char| !is_handle_char(c))
            .unwrap_or(tail.len());
        let handle = tail[..len].trim_end_matches(['.', '_', '-']);
        if handle.eq_ignore_ascii_case(HANDLE) {
            out.push_str(&content[flushed..at]);
            flushed = at + 1 + handle.len();
        }
    }
    out.push_str(&content[flushed..]);
    out
}

pub fn parse(content: &str) -> Command {
    let text = without_mentions(content);
    let text = text
        .trim()
        .trim_start_matches([',', ':', ';', '-', '—'])
        .trim();
    let (first, rest) = text
        .split_once(char::is_whitespace)
        .map_or((text, ""), |(first, rest)| (first, rest.trim()));
    let keyword = first
        .trim_end_matches([':', ',', '.', '!', '?'])
        .to_lowercase();
    match keyword.as_str() {
        "" | "help" | "hi" | "hello" => Command::Help,
        "search" | "find" if rest.is_empty() => Command::Help,
        "search" | "find" => Command::Search(rest.to_owned()),
        "summary" | "summarize" | "summarise" | "tldr" | "tl;dr" => Command::Summary,
        _ => Command::Question(text.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_follow_the_mention_anywhere_in_the_message() {
        assert_eq!(
            parse("@bot search deploy x-request-id"),
            Command::Search("deploy x-request-id".into())
        );
        assert_eq!(parse("@Bot: summary"), Command::Summary);
        assert_eq!(
            parse("İstanbul @bot. summary"),
            Command::Question("İstanbul . summary".into())
        );
        assert_eq!(parse("summarise please @bot"), Command::Summary);
        assert_eq!(parse("@bot"), Command::Help);
        assert_eq!(parse("@bot search"), Command::Help);
        assert_eq!(
            parse("hey @bot when is the deployment?"),
            Command::Question("hey  when is the deployment?".into())
        );
    }

    #[test]
    fn only_whole_mentions_are_removed() {
        assert_eq!(
            parse("@bottle and bob@bot.com"),
            Command::Question("@bottle and bob@bot.com".into())
        );
    }

    #[test]
    fn a_direct_message_without_mention_is_read_the_same_way() {
        assert_eq!(parse("find budget"), Command::Search("budget".into()));
        assert_eq!(
            parse("Who owns the budget?"),
            Command::Question("Who owns the budget?".into())
        );
    }
}
