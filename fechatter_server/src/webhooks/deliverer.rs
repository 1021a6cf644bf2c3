//! Works through due outgoing deliveries: each is POSTed with its signature headers to the
//! webhook's URL (connecting only to addresses [`url_policy`] allows, never following redirects);
//! a 2xx answer delivers it, anything else schedules another attempt with doubling backoff until
//! `FECHATTER_WEBHOOK_MAX_ATTEMPTS`, then it is marked failed. Deliveries are claimed with a lease
//! (`FOR UPDATE SKIP LOCKED`), so several instances share the queue and one that dies mid-attempt
//! leaves its deliveries to be retried. Delivery is at least once and not ordered across retries:
//! receivers de-duplicate by `Fechatter-Event-Id`.

use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio_util::sync::CancellationToken;
use tracing::instrument;

use super::signature::{
    DELIVERY_ID_HEADER, EVENT_ID_HEADER, EVENT_KIND_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER,
    sign,
};
use super::url_policy::{self, UrlRefused};
use crate::config::WebhookSettings;
use crate::models::webhook::DueDelivery;
use crate::observability::metrics::{WebhookMetrics, WebhookResult};
use crate::repo;
use crate::repo::webhook_deliveries::Attempted;
use sqlx::PgPool;

/// Deliveries claimed per round.
const BATCH: i64 = 50;
/// The longest error text kept in the log.
const MAX_ERROR_CHARS: usize = 300;

/// What the deliverer needs of its service, so it does not depend on the whole application state.
pub trait Context: Clone + Send + Sync + 'static {
    fn pool(&self) -> &PgPool;
    /// Deliveries are read only once the schema is known to be there.
    fn is_migrated(&self) -> bool;
    fn settings(&self) -> WebhookSettings;
}

pub async fn run<C: Context>(state: C, shutdown: CancellationToken) {
    let settings = state.settings();
    loop {
        let mut full = false;
        if state.is_migrated() {
            match round(&state, &settings).await {
                Ok(claimed) => full = claimed as i64 == BATCH,
                Err(err) => tracing::warn!(error = %err, "webhook delivery round failed"),
            }
        }
        if full {
            continue;
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(settings.poll_interval) => {}
        }
    }
}

/// Claims due deliveries and attempts them, a few at once; how many were claimed.
async fn round<C: Context>(state: &C, settings: &WebhookSettings) -> Result<usize, sqlx::Error> {
    WebhookMetrics::pending(repo::webhook_deliveries::pending(state.pool()).await?);
    // The lease outlasts an attempt, so no other instance starts the same one meanwhile.
    let lease = settings.timeout * 2 + Duration::from_secs(5);
    let due = repo::webhook_deliveries::claim_due(state.pool(), BATCH, lease).await?;
    let claimed = due.len();
    let results: Vec<Result<(), sqlx::Error>> = futures::stream::iter(due)
        .map(|delivery| attempt(state, settings, delivery))
        .buffer_unordered(settings.concurrency)
        .collect()
        .await;
    results.into_iter().collect::<Result<(), _>>()?;
    Ok(claimed)
}

/// Why an attempt failed.
enum Failure {
    Refused(UrlRefused),
    Status(u16),
    Transport(String),
}

impl Failure {
    fn status(&self) -> Option<i32> {
        match self {
            Failure::Status(status) => Some(i32::from(*status)),
            _ => None,
        }
    }

    fn describe(&self) -> String {
        let text = match self {
            Failure::Refused(refused) => refused.to_string(),
            Failure::Status(status) => format!("the receiver answered {status}"),
            Failure::Transport(err) => err.clone(),
        };
        text.chars().take(MAX_ERROR_CHARS).collect()
    }
}

#[instrument(skip_all, fields(delivery = delivery.id, webhook = delivery.webhook_id, event = %delivery.event_kind))]
async fn attempt<C: Context>(
    state: &C,
    settings: &WebhookSettings,
    delivery: DueDelivery,
) -> Result<(), sqlx::Error> {
    let started = Instant::now();
    let outcome = post(settings, &delivery).await;
    let elapsed = started.elapsed();
    let failure = match outcome {
        Ok(status) => {
            WebhookMetrics::attempted(WebhookResult::Delivered, elapsed);
            let delivered = Attempted::Delivered {
                status: i32::from(status),
            };
            return repo::webhook_deliveries::record_attempt(state.pool(), delivery.id, delivered)
                .await;
        }
        Err(failure) => failure,
    };
    let attempts = delivery.attempts + 1;
    let (error, status) = (failure.describe(), failure.status());
    tracing::info!(attempts, %error, "webhook delivery attempt failed");
    let recorded = if attempts >= settings.max_attempts {
        WebhookMetrics::attempted(WebhookResult::Failed, elapsed);
        Attempted::Failed {
            status,
            error: &error,
        }
    } else {
        WebhookMetrics::attempted(WebhookResult::Retry, elapsed);
        Attempted::Retry {
            status,
            error: &error,
            retry_in: settings.retry_after(attempts),
        }
    };
    repo::webhook_deliveries::record_attempt(state.pool(), delivery.id, recorded).await
}

/// One POST of the delivery; the receiver's 2xx status, or why it failed.
async fn post(settings: &WebhookSettings, delivery: &DueDelivery) -> Result<u16, Failure> {
    let url = url_policy::parse(&delivery.url).map_err(Failure::Refused)?;
    let addresses = url_policy::resolve(&url, settings.allow_private_addresses)
        .await
        .map_err(Failure::Refused)?;
    let mut client = reqwest::Client::builder()
        .timeout(settings.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("Fechatter-Webhooks/1");
    if let Some(host) = url.host_str().filter(|_| url.domain().is_some()) {
        // Connect to the addresses just checked, not to whatever the name resolves to next.
        client = client.resolve_to_addrs(host, &addresses);
    }
    let client = client
        .build()
        .map_err(|err| Failure::Transport(err.to_string()))?;
    let timestamp = chrono::Utc::now().timestamp();
    let response = client
        .post(url)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(
            SIGNATURE_HEADER,
            sign(&delivery.secret, timestamp, delivery.body.as_bytes()),
        )
        .header(TIMESTAMP_HEADER, timestamp.to_string())
        .header(EVENT_ID_HEADER, delivery.event_id.to_string())
        .header(EVENT_KIND_HEADER, &delivery.event_kind)
        .header(DELIVERY_ID_HEADER, delivery.id.to_string())
        .body(delivery.body.clone())
        .send()
        .await
        .map_err(|err| Failure::Transport(without_url(&err)))?;
    let status = response.status();
    if status.is_success() {
        Ok(status.as_u16())
    } else {
        Err(Failure::Status(status.as_u16()))
    }
}

/// The error without the URL (it may carry a token in its query).
fn without_url(err: &reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    kind.to_owned()
}
