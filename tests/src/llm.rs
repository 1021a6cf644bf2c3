//! A stand-in for the paid language-model API (OpenAI-compatible): a local HTTP server that answers
//! `GET /v1/models` and `POST /v1/chat/completions` with a fixed reply and token usage, and keeps
//! every request so tests can see what the assistant sent.

use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// What the model answers, whatever it is asked.
pub const ANSWER: &str = "From the chat: cat said hello.";
/// The key the bot is configured with; it must never show in a log.
pub const API_KEY: &str = "sk-e2e-not-a-real-key-0123456789abcdef";

type Requests = Arc<Mutex<Vec<Value>>>;

pub struct LlmMock {
    url: String,
    requests: Requests,
    server: JoinHandle<()>,
}

async fn models() -> axum::Json<Value> {
    axum::Json(json!({"object": "list", "data": [{"id": "e2e-model", "object": "model"}]}))
}

async fn complete(State(requests): State<Requests>, body: axum::Json<Value>) -> axum::Json<Value> {
    let prompt_chars: usize = body.0["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["content"].as_str())
        .map(str::len)
        .sum();
    requests
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(body.0);
    axum::Json(json!({
        "id": "chatcmpl-e2e",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_chars / 4 + 1, "completion_tokens": ANSWER.len() / 4,
                  "total_tokens": prompt_chars / 4 + 1 + ANSWER.len() / 4},
    }))
}

impl LlmMock {
    pub async fn start() -> LlmMock {
        let requests = Requests::default();
        let app = Router::new()
            .route("/v1/models", get(models))
            .route("/v1/chat/completions", post(complete))
            .with_state(requests.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|err| panic!("bind the model stand-in: {err}"));
        let address = listener
            .local_addr()
            .unwrap_or_else(|err| panic!("its address: {err}"));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        LlmMock {
            url: format!("http://{address}/v1"),
            requests,
            server,
        }
    }

    /// The API base to give the bot (`BOT_LLM_URL`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The `messages` of every completion asked for so far, as one text each.
    pub fn prompts(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|request| {
                request["messages"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|m| m["content"].as_str())
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .collect()
    }
}

impl Drop for LlmMock {
    fn drop(&mut self) {
        self.server.abort();
    }
}
