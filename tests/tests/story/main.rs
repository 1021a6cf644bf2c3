//! The product story on the whole topology, driven only through public interfaces (the language
//! model, a paid outside API, is a local stand-in), then the observability truth of what it did. One test, so the story's traffic is what Prometheus sees.

mod assistant;
mod chat;
mod observability;
mod realtime;
mod reconnect;
mod reports;
mod search;
mod webhooks;

use std::time::Duration;

use e2e::Topology;
use e2e::llm::{API_KEY, LlmMock};

/// The bound of every wait in the story: generous for a loaded 2-core machine, and each wait
/// returns as soon as its condition holds.
pub const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workspaces_chat_live_the_reports_count_it_and_every_series_panel_and_alert_tells_the_truth()
 {
    let model = LlmMock::start().await;
    let topology = Topology::start_with(&[
        ("BOT_LLM_URL", model.url()),
        ("BOT_LLM_API_KEY", API_KEY),
        // The synthetic probe runs beside the story, as in compose.
        ("BOT_PROBE_PASSWORD", "a-canary-password-for-the-story"),
        // The story's webhook receiver listens on this host.
        ("FECHATTER_WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "true"),
    ])
    .await;
    let prometheus = observability::start_prometheus(&topology).await;
    let mut told = chat::play(&topology).await;
    assistant::ask(&topology, &mut told, &model).await;
    realtime::share_and_answer(&topology, &mut told).await;
    search::search(&topology, &told).await;
    reports::check(&topology, &told).await;
    // After the reports: the integration's message is not among the story's counted ones.
    webhooks::integrate(&topology, &told).await;
    observability::check(&prometheus).await;
}
