//! The texts the assistant posts. Quotes never mention anyone: an `@` in quoted text is followed
//! by a zero-width space, so fechatter_server does not read it as a mention.

use std::fmt::Write;

use crate::repo::passages::Passage;

pub const NO_LLM: &str =
    "(No language model is configured, so I answer by quoting this chat's own messages.)";
pub const APOLOGY: &str = "Sorry, I could not get an answer from the language model just now. \
     Please try again in a little while.";
/// fechatter_server's default limit is 4 000 characters; replies stay well below it.
pub const MAX_REPLY_CHARS: usize = 3_500;
const QUOTE_CHARS: usize = 200;

/// Where a client shows the message.
pub fn link(passage: &Passage) -> String {
    format!("/chats/{}/messages/{}", passage.chat_id, passage.message_id)
}

fn author(passage: &Passage) -> &str {
    passage.handle.as_deref().unwrap_or("someone")
}

fn defuse_mentions(text: &str) -> String {
    text.replace('@', "@\u{200b}")
}

/// The message on one line, cut at a word boundary when long.
pub fn quote(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let flat = defuse_mentions(&flat);
    if flat.chars().count() <= QUOTE_CHARS {
        return flat;
    }
    let cut: String = flat.chars().take(QUOTE_CHARS).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{cut}…")
}

fn limited(mut text: String) -> String {
    if text.chars().count() > MAX_REPLY_CHARS {
        text = text.chars().take(MAX_REPLY_CHARS - 1).collect();
        text.push('…');
    }
    text
}

fn numbered(passages: &[Passage]) -> String {
    let mut out = String::new();
    for (i, passage) in passages.iter().enumerate() {
        let _ = writeln!(
            out,
            "{}. {}: “{}” — {}",
            i + 1,
            author(passage),
            quote(&passage.content),
            link(passage)
        );
    }
    out
}

pub fn help(llm: bool) -> String {
    let mut text =
        "I can search this chat (`@bot search <words>`), summarise it (`@bot summary`), \
                    or answer a question from its history (`@bot <question>`)."
            .to_owned();
    if !llm {
        text.push('\n');
        text.push_str(NO_LLM);
    }
    text
}

pub fn search_results(terms: &str, passages: &[Passage]) -> String {
    let terms = defuse_mentions(terms);
    if passages.is_empty() {
        return format!("I found no message matching “{terms}” in this chat.");
    }
    limited(format!(
        "Messages matching “{terms}” in this chat:\n{}",
        numbered(passages)
    ))
}

/// The chosen messages of the conversation, quoted in order.
pub fn summary(considered: usize, chosen: &[&Passage]) -> String {
    if chosen.is_empty() {
        return "There is nothing to summarise in this chat yet.".to_owned();
    }
    let mut text =
        format!("Summary of the last {considered} messages: the ones that best represent them.\n");
    for passage in chosen {
        let _ = writeln!(
            text,
            "• {}: “{}” — {}",
            author(passage),
            quote(&passage.content),
            link(passage)
        );
    }
    text.push_str(NO_LLM);
    limited(text)
}

pub fn nothing_relevant() -> &'static str {
    "I found no earlier message in this chat about that."
}

pub fn quoted_answer(passages: &[Passage]) -> String {
    if passages.is_empty() {
        return format!("{}\n{NO_LLM}", nothing_relevant());
    }
    limited(format!(
        "These earlier messages look most relevant:\n{}{NO_LLM}",
        numbered(passages)
    ))
}

/// A language model's answer followed by the messages it was given, as numbered sources.
pub fn with_sources(answer: &str, passages: &[Passage]) -> String {
    let mut text = defuse_mentions(answer.trim());
    if !passages.is_empty() {
        text.push_str("\n\nSources:");
        for (i, passage) in passages.iter().enumerate() {
            let _ = write!(text, "\n[{}] {}", i + 1, link(passage));
        }
    }
    limited(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_flat_short_and_mention_nobody() {
        assert_eq!(quote("hi  @ann\nthere"), "hi @\u{200b}ann there");
        let long = "word ".repeat(100);
        let quoted = quote(&long);
        assert!(quoted.ends_with('…') && quoted.chars().count() <= QUOTE_CHARS + 1);
    }

    #[test]
    fn replies_never_exceed_the_limit() {
        let text = limited("x".repeat(MAX_REPLY_CHARS * 2));
        assert_eq!(text.chars().count(), MAX_REPLY_CHARS);
    }
}
