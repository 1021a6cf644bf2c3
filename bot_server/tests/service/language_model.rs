//! With OpenAI-compatible endpoints configured, the assistant answers from the retrieved messages
//! through the language model and embeds through the embeddings API. They are played by a local
//! HTTP server: the only stand-in in these tests, for a paid outside API.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use test_support::eventually;

use crate::support::{Stack, StackOptions, WAIT};

const KEY: &str = "sk-test-key-never-logged";
const ANSWER: &str = "The deployment is on Friday at noon [1].";
const DIMENSIONS: usize = 16;

#[derive(Default)]
struct Provider {
    completions: Mutex<Vec<(Option<String>, Value)>>,
    embeddings: Mutex<Vec<Value>>,
    failing: AtomicBool,
}

impl Provider {
    fn completions(&self) -> Vec<(Option<String>, Value)> {
        self.completions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

async fn complete(
    State(provider): State<Arc<Provider>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    provider
        .completions
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push((bearer(&headers), body));
    if provider.failing.load(Ordering::SeqCst) {
        return (StatusCode::INTERNAL_SERVER_ERROR, "upstream exploded").into_response();
    }
    Json(json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "mock-model",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": ANSWER}}],
        "usage": {"prompt_tokens": 42, "completion_tokens": 7, "total_tokens": 49}
    }))
    .into_response()
}

/// A vector from the text's letters; `wrong-size` texts get a vector of the wrong length.
async fn embed(State(provider): State<Arc<Provider>>, Json(body): Json<Value>) -> Json<Value> {
    let text = body["input"].as_str().unwrap_or_default().to_owned();
    provider
        .embeddings
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(body);
    let size = if text.contains("wrong-size") {
        DIMENSIONS / 2
    } else {
        DIMENSIONS
    };
    let mut vector = vec![0.0f32; size];
    for byte in text.bytes() {
        vector[usize::from(byte) % size] += 1.0;
    }
    Json(json!({"object": "list", "model": "mock-embed",
                "data": [{"object": "embedding", "index": 0, "embedding": vector}]}))
}

async fn models() -> Json<Value> {
    Json(json!({"object": "list", "data": [{"id": "mock-model", "object": "model"}]}))
}

async fn serve(provider: Arc<Provider>) -> String {
    let app = Router::new()
        .route("/v1/chat/completions", post(complete))
        .route("/v1/embeddings", post(embed))
        .route("/v1/models", get(models))
        .with_state(provider);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    let address = listener.local_addr().unwrap_or_else(|err| panic!("{err}"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}/v1")
}

#[tokio::test]
async fn the_language_model_answers_from_retrieved_messages_and_its_failure_gets_an_apology() {
    let provider = Arc::new(Provider::default());
    let api = serve(provider.clone()).await;
    let stack = Stack::start_with(StackOptions {
        bot_env: vec![
            ("LLM_URL", api.clone()),
            ("LLM_API_KEY", KEY.to_owned()),
            ("LLM_MODEL", "mock-model".to_owned()),
            ("EMBEDDING_URL", api),
            ("EMBEDDING_MODEL", "mock-embed".to_owned()),
            ("EMBEDDING_DIMENSIONS", DIMENSIONS.to_string()),
            ("CONSUMER_CONCURRENCY", "1".to_owned()),
        ],
        ..StackOptions::default()
    })
    .await;
    let ann = stack.owner("ann", "Acme").await;
    let bot = stack.bot_of(&ann).await;
    let chat = stack.chat(&ann, "group", Some("ops"), &[]).await;
    let friday = "The deployment is scheduled for Friday at noon";
    let deployment = stack.send(&ann, chat, friday).await;
    let odd = stack.send(&ann, chat, "a wrong-size embedding").await;

    let question = "@bot when is the deployment?";
    let asked = stack.send(&ann, chat, question).await;
    let reply = stack.reply_to(&ann, chat, bot, asked).await;
    assert!(reply.starts_with(ANSWER), "{reply}");
    assert!(
        reply.contains(&format!("/chats/{chat}/messages/{deployment}")),
        "the sources follow the answer: {reply}"
    );

    let completions = provider.completions();
    assert_eq!(completions.len(), 1);
    let (authorization, body) = &completions[0];
    assert_eq!(
        authorization.as_deref(),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(body["model"], "mock-model");
    assert!(body["max_tokens"].as_u64().is_some_and(|n| n > 0), "{body}");
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(body["messages"][1]["role"], "user");
    let prompt = body["messages"][1]["content"].as_str().unwrap_or_default();
    assert!(
        prompt.contains(friday) && prompt.contains("Question: when is the deployment?"),
        "{prompt}"
    );
    for (kind, tokens) in [("prompt", 42.0), ("completion", 7.0)] {
        assert_eq!(
            stack
                .metric("bot_agent_tokens_total", &[("kind", kind)])
                .await,
            tokens
        );
    }

    // Embeddings came from the API, checked against the configured dimension. The answer was
    // found through the first message; the indexer, a consumer of its own, may still be on the
    // second: wait for both to be stored.
    let pool = &stack.pool;
    let stored: Vec<(i64, Option<String>, Option<i32>)> =
        eventually("both messages in the index", WAIT, || async move {
            let stored: Vec<(i64, Option<String>, Option<i32>)> = sqlx::query_as(
                "SELECT message_id, embedding_model, cardinality(embedding) FROM search_documents
                 WHERE message_id = ANY($1) ORDER BY message_id",
            )
            .bind(vec![deployment, odd])
            .fetch_all(pool)
            .await
            .unwrap_or_else(|err| panic!("{err}"));
            (stored.len() == 2).then_some(stored)
        })
        .await;
    assert_eq!(
        stored,
        [
            (
                deployment,
                Some("mock-embed".to_owned()),
                Some(DIMENSIONS as i32)
            ),
            (odd, None, None)
        ]
    );
    let embedded = provider
        .embeddings
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .first()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (embedded["model"].clone(), embedded["dimensions"].clone()),
        (json!("mock-embed"), json!(DIMENSIONS))
    );
    assert!(
        stack
            .metric(
                "bot_embeddings_generated_total",
                &[("provider", "http"), ("result", "error")]
            )
            .await
            >= 1.0
    );
    // The message without a vector is still found by its words.
    stack.wait_for_search(&ann, "q=wrong-size", &[odd]).await;

    // The model is a non-critical dependency of /health.
    let health: Value = stack
        .client
        .get(format!("{}/health", stack.bot().base))
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err}"))
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(health["checks"]["llm"]["status"], "up", "{health}");
    assert_eq!(health["checks"]["llm"]["critical"], false);

    provider.failing.store(true, Ordering::SeqCst);
    let asked = stack.send(&ann, chat, "@bot summary").await;
    let reply = stack.reply_to(&ann, chat, bot, asked).await;
    assert!(reply.starts_with("Sorry"), "{reply}");
    stack
        .wait_for_metric(
            "bot_agent_requests_total",
            &[("result", "provider_error")],
            1.0,
        )
        .await;
    assert_eq!(
        stack
            .metric("bot_agent_tokens_total", &[("kind", "completion")])
            .await,
        7.0,
        "a failed call used no counted tokens"
    );
}
