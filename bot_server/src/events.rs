//! What the bot does with each kind of event.
//!
//! Message events feed the index and may get an answer; `user.signed_up` of a new workspace gives
//! it its bot. Membership needs no state here: every message event carries the chat's members (its
//! recipients), which is all the assistant needs to know where it may post. Other kinds are acked.

use fechatter_events::payload::{MessageDeleted, MessagePayload, UserSignedUp};
use fechatter_events::{Envelope, EventKind};

use crate::consumer::HandleError;
use crate::observability::metrics::IndexMetrics;
use crate::state::AppState;
use crate::{assistant, index, repo};

fn payload<T: serde::de::DeserializeOwned>(envelope: &Envelope) -> Result<T, HandleError> {
    envelope
        .payload()
        .map_err(|err| HandleError::Malformed(format!("{} payload: {err}", envelope.kind)))
}

pub async fn handle(state: &AppState, envelope: &Envelope) -> Result<(), HandleError> {
    match envelope.kind {
        EventKind::MessageCreated | EventKind::MessageUpdated => {
            let message: MessagePayload = payload(envelope)?;
            if !assistant::may_be_asked(envelope, &message) {
                // The common case: one statement indexes the message and records the event.
                return index::message_once(state, envelope, &message).await;
            }
            // The event is recorded only once the answer is posted, so a failed post is retried.
            if repo::processed::contains(state.pool(), envelope.id).await? {
                IndexMetrics::duplicate();
                return Ok(());
            }
            index::message(state, envelope, &message).await?;
            assistant::answer_if_asked(state, envelope, &message).await?;
            repo::processed::insert(state.pool(), envelope.id).await?;
        }
        EventKind::MessageDeleted => {
            let deleted: MessageDeleted = payload(envelope)?;
            index::deleted(state, envelope, &deleted).await?;
        }
        EventKind::UserSignedUp => {
            let signed_up: UserSignedUp = payload(envelope)?;
            if !signed_up.joined_by_invite {
                state
                    .bots()
                    .provision(state.pool(), signed_up.workspace_id)
                    .await?;
            }
        }
        _ => {}
    }
    Ok(())
}
