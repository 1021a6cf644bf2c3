//! Connecting to NATS the same way in every service: never failing at start-up, reconnecting forever,
//! and probing health without publishing.

use std::time::Duration;

use async_nats::connection::State;
use async_nats::{Client, ConnectOptions};

/// Connects in the background: returns at once even when NATS is down, then keeps retrying.
pub async fn connect(url: &str, client_name: &str) -> Result<Client, async_nats::ConnectError> {
    let name = client_name.to_owned();
    ConnectOptions::new()
        .name(client_name)
        .retry_on_initial_connect()
        .connection_timeout(Duration::from_secs(2))
        .max_reconnects(None)
        .reconnect_delay_callback(|attempt| {
            // Capped exponential backoff so a returning NATS is noticed within two seconds.
            let millis = 50u64.saturating_mul(1 << attempt.min(6));
            Duration::from_millis(millis.min(2_000))
        })
        .event_callback(move |event| {
            let name = name.clone();
            async move { tracing::info!(client = %name, %event, "nats connection event") }
        })
        .connect(url)
        .await
}

/// The health probe from `health.md`: the connection must be up and a JetStream round trip
/// (account info) must answer. Never publishes.
pub async fn probe(client: &Client) -> Result<(), String> {
    if client.connection_state() != State::Connected {
        return Err(format!("connection {}", describe(client.connection_state())));
    }
    let jetstream = async_nats::jetstream::new(client.clone());
    jetstream
        .query_account()
        .await
        .map(|_| ())
        .map_err(|err| format!("jetstream account info failed: {err}"))
}

fn describe(state: State) -> &'static str {
    match state {
        State::Connected => "connected",
        State::Disconnected => "disconnected",
        State::Pending => "pending",
    }
}
