//! What the indexing consumer does with each kind of event.
//!
//! Message events feed the index (answers are the `bot_assistant` consumer's, see
//! [`crate::assistant`]); `user.signed_up` of a new workspace gives it its bot. Other kinds are
//! acked.

use fechatter_events::payload::{MessageDeleted, MessagePayload, UserSignedUp};
use fechatter_events::{Envelope, EventKind};

use crate::consumer::HandleError;
use crate::fechatter::PostError;
use crate::index;
use crate::state::AppState;

fn payload<T: serde::de::DeserializeOwned>(envelope: &Envelope) -> Result<T, HandleError> {
    envelope
        .payload()
        .map_err(|err| HandleError::Malformed(format!("{} payload: {err}", envelope.kind)))
}

/// fechatter_server down or refusing the credential is waited out; a refusal of this workspace
/// (it is gone) may pass on a later delivery only by chance, so it is retried, then dead-lettered.
fn provision_failed(err: PostError) -> HandleError {
    match err {
        PostError::Unavailable(_) | PostError::Unauthorized => {
            HandleError::Unavailable(format!("provisioning the bot: {err}"))
        }
        PostError::Refused(_) => HandleError::Retry(format!("provisioning the bot: {err}")),
    }
}

pub async fn handle(state: &AppState, envelope: &Envelope) -> Result<(), HandleError> {
    match envelope.kind {
        EventKind::MessageCreated | EventKind::MessageUpdated => {
            let message: MessagePayload = payload(envelope)?;
            // One statement indexes the message and records the event.
            index::message_once(state, envelope, &message).await?;
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
                    .provision(state.fechatter(), signed_up.workspace_id)
                    .await
                    .map_err(provision_failed)?;
            }
        }
        _ => {}
    }
    Ok(())
}
