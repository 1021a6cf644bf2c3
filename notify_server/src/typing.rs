//! Ephemeral typing signals from core NATS: passed on to the chat's other members, never stored.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use fechatter_events::EphemeralKind;
use fechatter_events::UserId;
use fechatter_events::nats::until_ok;
use fechatter_events::payload::Typing;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use fechatter_push::{Frame, FrameKind, LogError};

use crate::observability::metrics::{NATS, NatsMetrics};
use crate::state::AppState;

const EVENT: &str = "typing";

/// Listens until `shutdown`; the NATS client resubscribes by itself after a reconnect.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    let subject = state.event_bus().ephemeral_subject(EphemeralKind::Typing);
    loop {
        let subscribed = until_ok("subscribing to typing signals", &shutdown, || {
            state.nats().subscribe(subject.clone())
        })
        .await;
        let Some(mut subscriber) = subscribed else {
            return;
        };
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                message = subscriber.next() => match message {
                    Some(message) => handle(&state, &message.payload),
                    None => break,
                },
            }
        }
    }
}

fn handle(state: &AppState, payload: &[u8]) {
    let started = Instant::now();
    NATS.received(EVENT);
    match serde_json::from_slice::<Typing>(payload) {
        Ok(typing) => {
            if let Some((recipients, frame)) =
                signal(&typing, state.config().typing_ttl, Utc::now())
            {
                state.push().signal(&recipients, frame);
            }
        }
        Err(err) => {
            tracing::warn!(error = %err, "a malformed typing signal");
            NatsMetrics::error(LogError::Malformed);
        }
    }
    NATS.processed(EVENT, started.elapsed());
}

/// The frame for the chat's other members, or `None` when the signal has already lapsed.
fn signal(typing: &Typing, ttl: Duration, now: DateTime<Utc>) -> Option<(Vec<UserId>, Frame)> {
    let expires_at = typing.occurred_at + chrono::Duration::from_std(ttl).ok()?;
    if expires_at <= now {
        return None;
    }
    let recipients = typing
        .recipients
        .iter()
        .copied()
        .filter(|user| *user != typing.user_id)
        .collect();
    let frame = Frame::signal(
        FrameKind::Typing,
        None,
        &serde_json::json!({
            "workspace_id": typing.workspace_id,
            "chat_id": typing.chat_id,
            "user_id": typing.user_id,
            "expires_at": expires_at,
        }),
    );
    Some((recipients, frame))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fechatter_events::{ChatId, WorkspaceId};

    fn typing(occurred_at: DateTime<Utc>) -> Typing {
        Typing {
            workspace_id: WorkspaceId(1),
            chat_id: ChatId(2),
            user_id: UserId(3),
            recipients: vec![UserId(3), UserId(4), UserId(5)],
            occurred_at,
        }
    }

    #[test]
    fn the_typer_does_not_hear_their_own_typing() {
        let now = Utc::now();
        let (recipients, frame) =
            signal(&typing(now), Duration::from_secs(5), now).unwrap_or_else(|| panic!("lapsed"));
        assert_eq!(recipients, vec![UserId(4), UserId(5)]);
        let data: serde_json::Value =
            serde_json::from_str(&frame.data).unwrap_or(serde_json::Value::Null);
        assert_eq!(data["chat_id"], 2);
        assert!(data["expires_at"].is_string());
    }

    #[test]
    fn a_signal_older_than_its_lifetime_is_dropped() {
        let now = Utc::now();
        let old = now - chrono::Duration::seconds(6);
        assert!(signal(&typing(old), Duration::from_secs(5), now).is_none());
    }
}
