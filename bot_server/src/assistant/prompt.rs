//! What the language model is asked: the chat's own messages as numbered context, then the task.
//! The model is told to use only that context, so answers stay grounded in the chat.

use std::fmt::Write;

use crate::llm::ChatMessage;
use crate::repo::passages::Passage;

const SYSTEM: &str = "You are the assistant of a team chat. Use only the chat messages you are \
    given; cite them as [n]. If they do not contain what is asked, say so in one sentence. Be brief.";

fn context(passages: &[Passage]) -> String {
    let mut text = String::new();
    for (i, passage) in passages.iter().enumerate() {
        let _ = writeln!(
            text,
            "[{}] {} ({}): {}",
            i + 1,
            passage.handle.as_deref().unwrap_or("someone"),
            passage.created_at.format("%Y-%m-%d %H:%M UTC"),
            passage.content
        );
    }
    text
}

pub fn question(question: &str, passages: &[Passage]) -> Vec<ChatMessage> {
    vec![
        ChatMessage::system(SYSTEM),
        ChatMessage::user(format!(
            "Chat messages:\n{}\nQuestion: {question}",
            context(passages)
        )),
    ]
}

pub fn summary(passages: &[Passage]) -> Vec<ChatMessage> {
    vec![
        ChatMessage::system(SYSTEM),
        ChatMessage::user(format!(
            "Chat messages, oldest first:\n{}\nSummarise this conversation in at most five bullet points.",
            context(passages)
        )),
    ]
}
