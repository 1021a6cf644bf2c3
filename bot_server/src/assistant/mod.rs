//! The assistant: answers a message that mentions the workspace bot, or any message in a direct
//! chat with it, never a bot's message. Its answer comes from the chat's own history; with a
//! language model configured, the model answers from the same retrieved messages.
//!
//! A question is answered at most once: the answer is stored (`bot_answers`) before it is posted,
//! so a retry (a failed post, a redelivery, a re-drive) posts the stored text and never asks the
//! language model again; the post's idempotency key (the event id) keeps the reply single even if
//! the bot stopped between posting and recording it.

pub mod command;
pub mod prompt;
pub mod replies;
pub mod retrieval;
pub mod summary;

use std::time::Instant;

use chrono::Utc;
use fechatter_events::payload::MessagePayload;
use fechatter_events::{ChatType, Envelope, Event, EventKind};
use tracing::instrument;

use crate::fechatter::PostError;
use crate::handling::HandleError;
use crate::llm::{ChatMessage, LlmClient};
use crate::observability::metrics::{AgentMetrics, AgentResult};
use crate::repo;
use crate::state::AppState;
use command::Command;

/// Whether `message` may ask the bot something, judged from the event alone (no look-up): a new
/// message from a person that mentions someone, or in a direct chat. Most messages do not.
pub fn may_be_asked(envelope: &Envelope, message: &MessagePayload) -> bool {
    envelope.kind == EventKind::MessageCreated
        && !message.sender_is_bot
        && (!message.mentions.is_empty() || message.chat_type == ChatType::Direct)
}

/// An answer composed by an earlier attempt of the same delivery that could not be stored (Postgres
/// went down meanwhile): the next attempt stores it instead of asking the language model again.
pub type Composed = std::sync::Mutex<Option<(String, AgentResult)>>;

/// What the `bot_assistant` consumer does with a `message.created` event: answers it if it asks
/// the bot something, in its workspace's turn.
pub async fn answer_once(
    state: &AppState,
    envelope: &Envelope,
    composed: &Composed,
) -> Result<(), HandleError> {
    if envelope.kind != EventKind::MessageCreated {
        return Ok(());
    }
    // An unreadable payload asks nothing; the indexing consumer dead-letters it.
    let Ok(Event::MessageCreated(message)) = envelope.event() else {
        return Ok(());
    };
    if !may_be_asked(envelope, &message) {
        return Ok(());
    }
    let _slot = state.answer_slots().acquire(envelope.workspace_id).await;
    answer_if_asked(state, envelope, &message, composed).await
}

/// Answers `message` if it asks the bot something. A failure to post that may pass is an error
/// (the event is retried with the stored answer).
#[instrument(skip_all, fields(chat = %message.chat_id, message = %message.id))]
pub async fn answer_if_asked(
    state: &AppState,
    envelope: &Envelope,
    message: &MessagePayload,
    composed: &Composed,
) -> Result<(), HandleError> {
    if !may_be_asked(envelope, message) {
        return Ok(());
    }
    let direct = message.chat_type == ChatType::Direct;
    let Some(bot) = state
        .bots()
        .identity(state.pool(), envelope.workspace_id)
        .await?
    else {
        return Ok(());
    };
    let asked = message.mentions.contains(&bot.user_id) || direct;
    // Only a member can post in the chat; the event's recipients are its members.
    if !asked || message.sender_id == bot.user_id || !envelope.is_for(bot.user_id) {
        return Ok(());
    }
    let age = Utc::now().signed_duration_since(message.created_at);
    if age.to_std().unwrap_or_default() > state.config().assistant.max_age {
        tracing::info!(?age, "not answering a message this old");
        return Ok(());
    }
    let started = Instant::now();
    let answer = match repo::answers::find(state.pool(), envelope.id).await? {
        Some(answer) if answer.posted => return Ok(()),
        Some(answer) => answer,
        None => {
            let earlier = composed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
            let (text, result) = match earlier {
                Some(earlier) => earlier,
                None => compose(state, message).await?,
            };
            let kept = repo::answers::keep_first(
                state.pool(),
                envelope.id,
                message.chat_id,
                &text,
                result.as_str(),
            )
            .await;
            if kept.is_err() {
                *composed
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((text, result));
            }
            kept?
        }
    };
    let result = AgentResult::parse_stored(&answer.result);
    let key = format!("bot-reply-{}", envelope.id);
    match state
        .fechatter()
        .reply(
            bot.workspace_id,
            message.chat_id,
            message.id,
            &answer.content,
            &key,
        )
        .await
    {
        Ok(()) => {
            repo::answers::mark_posted(state.pool(), envelope.id).await?;
            AgentMetrics::request(result, started.elapsed());
            Ok(())
        }
        Err(PostError::Unauthorized) => {
            state.bots().forget(envelope.workspace_id);
            Err(HandleError::Retry(PostError::Unauthorized.to_string()))
        }
        Err(err @ PostError::Unavailable(_)) => Err(HandleError::Unavailable(err.to_string())),
        Err(err @ PostError::Refused(_)) => {
            tracing::warn!(error = %err, "the reply was refused; giving up on it");
            repo::answers::mark_posted(state.pool(), envelope.id).await?;
            AgentMetrics::request(AgentResult::PostFailed, started.elapsed());
            Ok(())
        }
    }
}

/// The reply and how it went.
async fn compose(
    state: &AppState,
    message: &MessagePayload,
) -> Result<(String, AgentResult), HandleError> {
    let llm = state.llm();
    let answered = |text: String| (text, AgentResult::Answered);
    Ok(match command::parse(&message.content) {
        Command::Help => answered(replies::help(llm.is_some())),
        Command::Search(terms) => {
            let passages = retrieval::matching(state, message.chat_id, message.id, &terms).await?;
            let mut text = replies::search_results(&terms, &passages);
            if llm.is_none() {
                text.push('\n');
                text.push_str(replies::NO_LLM);
            }
            answered(text)
        }
        Command::Summary => {
            let limit = state.config().assistant.summary_messages;
            let passages =
                repo::passages::latest(state.pool(), message.chat_id, message.id, limit).await?;
            match llm {
                // Nothing to summarise needs no model (and costs no tokens).
                Some(llm) if !passages.is_empty() => {
                    ask(llm, prompt::summary(&passages), &[]).await
                }
                _ => {
                    let chosen: Vec<_> = summary::choose(&passages)
                        .into_iter()
                        .map(|index| &passages[index])
                        .collect();
                    answered(replies::summary(passages.len(), &chosen))
                }
            }
        }
        Command::Question(question) => {
            let passages =
                retrieval::relevant(state, message.chat_id, message.id, &question).await?;
            match llm {
                Some(llm) if !passages.is_empty() => {
                    ask(llm, prompt::question(&question, &passages), &passages).await
                }
                Some(_) => answered(replies::nothing_relevant().to_owned()),
                None => answered(replies::quoted_answer(&passages)),
            }
        }
    })
}

/// The model's answer with its sources, or an apology when the provider fails.
async fn ask(
    llm: &LlmClient,
    messages: Vec<ChatMessage>,
    sources: &[repo::passages::Passage],
) -> (String, AgentResult) {
    match llm.complete(&messages).await {
        Ok(completion) => {
            AgentMetrics::tokens(completion.prompt_tokens, completion.completion_tokens);
            (
                replies::with_sources(&completion.text, sources),
                AgentResult::Answered,
            )
        }
        Err(err) => {
            tracing::warn!(error = %err, "the language model gave no answer");
            (replies::APOLOGY.to_owned(), AgentResult::ProviderError)
        }
    }
}
