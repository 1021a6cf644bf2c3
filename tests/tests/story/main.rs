//! The product story on the whole topology, driven only through public interfaces, then the
//! observability truth of what it did. One test, so the story's traffic is what Prometheus sees.

mod chat;
mod observability;
mod reconnect;
mod reports;

use std::time::Duration;

use e2e::Topology;

/// The bound of every wait in the story: generous for a loaded 2-core machine, and each wait
/// returns as soon as its condition holds.
pub const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workspaces_chat_live_the_reports_count_it_and_every_series_panel_and_alert_tells_the_truth()
 {
    let topology = Topology::start().await;
    let prometheus = observability::start_prometheus(&topology).await;
    let told = chat::play(&topology).await;
    reports::check(&topology, &told).await;
    observability::check(&prometheus).await;
}
