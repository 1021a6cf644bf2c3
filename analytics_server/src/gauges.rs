//! The business gauges Prometheus scrapes for the Grafana business dashboard (daily and weekly
//! active users, messages today), recomputed from ClickHouse on an interval.

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use crate::observability::metrics::BusinessMetrics;
use crate::reports::queries::{self, BusinessNumbers};
use crate::state::AppState;
use crate::store::StoreError;

/// Recomputes the gauges now; on failure they keep their last values (the failure is counted in
/// `analytics_clickhouse_errors_total{operation="query"}`).
pub async fn refresh(state: &AppState) -> Result<BusinessNumbers, StoreError> {
    let query = queries::business_numbers(state.store(), Utc::now().date_naive());
    let rows: Vec<BusinessNumbers> = state.store().fetch_all("business_gauges", query).await?;
    let numbers = rows.into_iter().next().unwrap_or(BusinessNumbers {
        daily_active_users: 0,
        weekly_active_users: 0,
        messages_today: 0,
    });
    BusinessMetrics::refreshed(
        numbers.daily_active_users,
        numbers.weekly_active_users,
        numbers.messages_today,
    );
    Ok(numbers)
}

pub async fn run(state: AppState, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(state.config().gauges_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {
                if let Err(err) = refresh(&state).await {
                    tracing::debug!(error = %err, "business gauges not refreshed");
                }
            }
        }
    }
}
