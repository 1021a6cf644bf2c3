//! An OpenAI-compatible chat-completions client: `POST {url}/chat/completions` with
//! `{model, messages, max_tokens, temperature}`, reading `choices[0].message.content` and `usage`.

use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::config::LlmSettings;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChatMessage {
    pub role: &'static str,
    pub content: String,
}

impl ChatMessage {
    pub fn system(content: impl Into<String>) -> Self {
        Self {
            role: "system",
            content: content.into(),
        }
    }

    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: "user",
            content: content.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub text: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// Why the model gave no answer. The texts never contain the key or the URL.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("the request failed: {0}")]
    Request(String),
    #[error("the provider answered {0}")]
    Status(u16),
    #[error("the answer is unreadable: {0}")]
    Malformed(String),
    #[error("the answer has no text")]
    Empty,
}

#[derive(Deserialize)]
struct Answer {
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Choice {
    message: AnswerMessage,
}

#[derive(Deserialize)]
struct AnswerMessage {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

pub struct LlmClient {
    client: reqwest::Client,
    settings: LlmSettings,
}

impl LlmClient {
    pub fn new(client: reqwest::Client, settings: LlmSettings) -> Self {
        Self { client, settings }
    }

    fn endpoint(&self, path: &str) -> String {
        format!(
            "{}/{path}",
            self.settings.url.as_str().trim_end_matches('/')
        )
    }

    fn authorised(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.settings.api_key {
            Some(key) => request.bearer_auth(key.expose_secret()),
            None => request,
        }
    }

    pub async fn complete(&self, messages: &[ChatMessage]) -> Result<Completion, LlmError> {
        let request = self
            .client
            .post(self.endpoint("chat/completions"))
            .timeout(self.settings.timeout)
            .json(&json!({
                "model": self.settings.model,
                "messages": messages,
                "max_tokens": self.settings.max_tokens,
                "temperature": 0.2,
            }));
        let response = self
            .authorised(request)
            .send()
            .await
            .map_err(|err| LlmError::Request(err.without_url().to_string()))?;
        if !response.status().is_success() {
            return Err(LlmError::Status(response.status().as_u16()));
        }
        let answer: Answer = response
            .json()
            .await
            .map_err(|err| LlmError::Malformed(err.without_url().to_string()))?;
        let usage = answer.usage.unwrap_or(Usage {
            prompt_tokens: 0,
            completion_tokens: 0,
        });
        let text = answer
            .choices
            .into_iter()
            .next()
            .and_then(|choice| choice.message.content)
            .map(|text| text.trim().to_owned())
            .filter(|text| !text.is_empty())
            .ok_or(LlmError::Empty)?;
        Ok(Completion {
            text,
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
        })
    }

    /// The health check: `GET {url}/models` answers, which costs no tokens.
    pub async fn probe(&self) -> Result<(), String> {
        let request = self.client.get(self.endpoint("models"));
        let response = self
            .authorised(request)
            .send()
            .await
            .map_err(|err| format!("request failed: {}", err.without_url()))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!(
                "GET /models answered {}",
                response.status().as_u16()
            ))
        }
    }
}
