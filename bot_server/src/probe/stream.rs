//! The receiving canary's live stream: notify_server's `GET /events`, as a browser's EventSource
//! reads it.

use std::pin::Pin;
use std::time::Duration;

use eventsource_stream::{Event, Eventsource};
use futures::{Stream, StreamExt};
use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;
use url::Url;

use super::ProbeError;

type Events = Pin<Box<dyn Stream<Item = Result<Event, String>> + Send>>;

pub struct LiveStream {
    events: Events,
}

impl LiveStream {
    /// Opens the stream and reads up to its `connected` event: from then on it is live.
    pub async fn open(
        http: &reqwest::Client,
        notify: &Url,
        token: &SecretString,
        timeout: Duration,
    ) -> Result<LiveStream, ProbeError> {
        let url = format!("{}/events", notify.as_str().trim_end_matches('/'));
        let response = tokio::time::timeout(
            timeout,
            http.get(url).bearer_auth(token.expose_secret()).send(),
        )
        .await
        .map_err(|_| ProbeError::stream("GET /events did not answer".to_owned()))?
        .map_err(|err| ProbeError::stream(err.without_url().to_string()))?;
        if !response.status().is_success() {
            return Err(ProbeError::stream(format!(
                "GET /events answered {}",
                response.status()
            )));
        }
        let events = response
            .bytes_stream()
            .eventsource()
            .map(|event| event.map_err(|err| err.to_string()));
        let mut stream = LiveStream {
            events: Box::pin(events),
        };
        let deadline = Instant::now() + timeout;
        stream
            .until(deadline, |event| event.event == "connected")
            .await
            .map_err(|err| ProbeError::stream(err.to_string()))?;
        Ok(stream)
    }

    /// Reads until the `message.created` of message `id` arrives, or `deadline`.
    pub async fn until_message(&mut self, id: i64, deadline: Instant) -> Result<(), ProbeError> {
        self.until(deadline, |event| {
            event.event == "message.created"
                && serde_json::from_str::<serde_json::Value>(&event.data)
                    .is_ok_and(|envelope| envelope["data"]["id"].as_i64() == Some(id))
        })
        .await
    }

    async fn until(
        &mut self,
        deadline: Instant,
        wanted: impl Fn(&Event) -> bool,
    ) -> Result<(), ProbeError> {
        loop {
            match tokio::time::timeout_at(deadline, self.events.next()).await {
                Err(_) => return Err(ProbeError::receive("not received in time".to_owned())),
                Ok(None) => return Err(ProbeError::stream("the stream ended".to_owned())),
                Ok(Some(Err(err))) => return Err(ProbeError::stream(err)),
                Ok(Some(Ok(event))) if wanted(&event) => return Ok(()),
                Ok(Some(Ok(_))) => {}
            }
        }
    }
}
