//! A stand-in for the paid language-model API: a local HTTP server that answers every question the
//! same, after a delay, and can hold its answers back until released.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use tokio::sync::watch;

pub const ANSWER: &str = "An answer from the stand-in model.";

struct Inner {
    calls: AtomicUsize,
    delay: Duration,
    held: watch::Sender<bool>,
}

pub struct Model {
    /// The OpenAI-compatible API base.
    pub url: String,
    inner: Arc<Inner>,
}

async fn complete(State(model): State<Arc<Inner>>) -> Json<Value> {
    model.calls.fetch_add(1, Ordering::SeqCst);
    let mut held = model.held.subscribe();
    // Bounded: a test that forgets to release still ends.
    let _ = tokio::time::timeout(Duration::from_secs(60), held.wait_for(|held| !*held)).await;
    tokio::time::sleep(model.delay).await;
    Json(json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "stand-in",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": ANSWER}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    }))
}

async fn models() -> Json<Value> {
    Json(json!({"object": "list", "data": [{"id": "stand-in", "object": "model"}]}))
}

impl Model {
    /// A model that takes `delay` to answer.
    pub async fn start(delay: Duration) -> Model {
        let inner = Arc::new(Inner {
            calls: AtomicUsize::new(0),
            delay,
            held: watch::Sender::new(false),
        });
        let app = Router::new()
            .route("/v1/chat/completions", post(complete))
            .route("/v1/models", get(models))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|err| panic!("{err}"));
        let address = listener.local_addr().unwrap_or_else(|err| panic!("{err}"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Model {
            url: format!("http://{address}/v1"),
            inner,
        }
    }

    /// The `BOT_*` settings that point the bot at this model.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("LLM_URL", self.url.clone()),
            ("LLM_API_KEY", "sk-stand-in".to_owned()),
            ("LLM_MODEL", "stand-in".to_owned()),
        ]
    }

    /// Completions asked for so far.
    pub fn calls(&self) -> usize {
        self.inner.calls.load(Ordering::SeqCst)
    }

    /// Answers wait until [`Model::release`].
    pub fn hold(&self) {
        self.inner.held.send_replace(true);
    }

    pub fn release(&self) {
        self.inner.held.send_replace(false);
    }
}
