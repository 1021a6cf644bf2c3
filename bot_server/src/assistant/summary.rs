//! An extractive summary: the messages that best represent a conversation, chosen by how many of
//! their words the rest of the conversation shares (a simple centrality score), shown in order.

use std::collections::{HashMap, HashSet};

use fechatter_search::stopwords::is_stopword;
use fechatter_search::text::words;

use crate::repo::passages::Passage;

/// How many messages a summary quotes at most.
pub const SUMMARY_MESSAGES: usize = 5;

fn content_words(text: &str) -> HashSet<String> {
    words(text)
        .filter(|word| word.chars().count() > 1 && !is_stopword(word))
        .collect()
}

/// The indices of the chosen messages, in conversation order.
pub fn choose(passages: &[Passage]) -> Vec<usize> {
    if passages.len() <= SUMMARY_MESSAGES {
        return (0..passages.len()).collect();
    }
    let vocabularies: Vec<HashSet<String>> = passages
        .iter()
        .map(|passage| content_words(&passage.content))
        .collect();
    let mut frequency: HashMap<&str, usize> = HashMap::new();
    for vocabulary in &vocabularies {
        for word in vocabulary {
            *frequency.entry(word.as_str()).or_default() += 1;
        }
    }
    let mut scored: Vec<(f64, usize)> = vocabularies
        .iter()
        .enumerate()
        .map(|(index, vocabulary)| {
            // Words the other messages also use; dividing by the square root of the length keeps
            // long messages from winning by size alone.
            let shared: f64 = vocabulary
                .iter()
                .map(|word| (frequency[word.as_str()] as f64 - 1.0).ln_1p())
                .sum();
            (shared / (vocabulary.len().max(1) as f64).sqrt(), index)
        })
        .collect();
    // Best first; among equals the later message, which is more likely to be current.
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
    let mut chosen: Vec<usize> = scored
        .into_iter()
        .take(SUMMARY_MESSAGES)
        .map(|(_, index)| index)
        .collect();
    chosen.sort_unstable();
    chosen
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use fechatter_events::{ChatId, MessageId};

    use super::*;

    fn passages(texts: &[&str]) -> Vec<Passage> {
        texts
            .iter()
            .enumerate()
            .map(|(i, text)| Passage {
                message_id: MessageId(i as i64 + 1),
                chat_id: ChatId(1),
                handle: None,
                content: (*text).to_owned(),
                created_at: Utc::now(),
                score: 0.0,
            })
            .collect()
    }

    #[test]
    fn short_conversations_are_quoted_whole() {
        assert_eq!(choose(&passages(&["a", "b", "c"])), [0, 1, 2]);
    }

    #[test]
    fn the_messages_on_the_common_topic_are_chosen_in_order() {
        let texts = [
            "deployment of the billing service is on friday",
            "lol",
            "ok",
            "the billing deployment needs a database migration",
            "nice weather",
            "who reviews the billing migration before the deployment?",
            "coffee?",
            "the migration for billing is reviewed, deployment friday",
            "brb",
            "billing deployment friday confirmed after migration review",
        ];
        assert_eq!(choose(&passages(&texts)), [0, 3, 5, 7, 9]);
    }
}
