//! What the indexing consumer does with each kind of event.
//!
//! Message events feed the index (answers are the `bot_assistant` consumer's, see
//! [`crate::assistant`]); `user.signed_up` of a new workspace gives it its bot. Other kinds are
//! acked.

use fechatter_events::{Envelope, Event};

use crate::fechatter::PostError;
use crate::handling::HandleError;
use crate::index;
use crate::state::AppState;

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
    let event = envelope
        .event()
        .map_err(|err| HandleError::Malformed(format!("{} payload: {err}", envelope.kind)))?;
    match event {
        Event::MessageCreated(message) | Event::MessageUpdated(message) => {
            // One statement indexes the message and records the event.
            index::message_once(state, envelope, &message).await?;
        }
        Event::MessageDeleted(deleted) => {
            index::deleted(state, envelope, &deleted).await?;
        }
        Event::UserSignedUp(signed_up) => {
            if !signed_up.joined_by_invite {
                state
                    .bots()
                    .provision(state.fechatter(), signed_up.workspace_id)
                    .await
                    .map_err(provision_failed)?;
            }
        }
        // Named one by one so a new kind is a decision here, not silently acked.
        Event::UserStatusChanged(_)
        | Event::ChatCreated(_)
        | Event::ChatUpdated(_)
        | Event::ChatDeleted(_)
        | Event::ChatMemberAdded(_)
        | Event::ChatMemberRemoved(_)
        | Event::MessageReactionAdded(_)
        | Event::MessageReactionRemoved(_)
        | Event::MessagePinned(_)
        | Event::MessageUnpinned(_)
        | Event::ChatRead(_)
        | Event::ThreadUpdated(_)
        | Event::ThreadRead(_)
        | Event::FileUploaded(_)
        | Event::SessionRevoked(_) => {}
    }
    Ok(())
}
