//! User statuses: away / do-not-disturb and a custom text with an optional expiry, shown in the
//! directory and announced to the workspace (`user.status_changed`).

use chrono::Utc;
use fechatter_events::Availability;
use fechatter_events::Event as DomainEvent;
use fechatter_events::payload::UserStatusChanged;
use tracing::instrument;

use crate::auth::CurrentUser;
use crate::db;
use crate::deps::Deps;
use crate::error::AppError;
use crate::models::user::{SetStatus, UserStatus};
use crate::repo;
use crate::service::events::{self, Event};

pub const MAX_TEXT_CHARS: usize = 100;

fn validate(input: SetStatus) -> Result<UserStatus, AppError> {
    let text = input
        .text
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty());
    if let Some(text) = &text {
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(AppError::invalid(
                "status_too_long",
                format!("a status text has at most {MAX_TEXT_CHARS} characters"),
            ));
        }
        if text.chars().any(char::is_control) {
            return Err(AppError::invalid(
                "invalid_status",
                "a status text has no control characters",
            ));
        }
    }
    if input.expires_at.is_some_and(|at| at <= Utc::now()) {
        return Err(AppError::invalid(
            "invalid_expiry",
            "expires_at must be in the future",
        ));
    }
    Ok(UserStatus {
        availability: input.availability,
        text,
        expires_at: input.expires_at,
    })
}

async fn announce(
    tx: &mut sqlx::PgConnection,
    caller: &CurrentUser,
    status: &UserStatus,
) -> Result<(), AppError> {
    let recipients = repo::statuses::workspace_users(&mut *tx, caller.workspace_id).await?;
    events::record(
        &mut *tx,
        Event {
            workspace_id: caller.workspace_id,
            chat_id: None,
            actor_id: Some(caller.id),
            recipients,
            event: DomainEvent::UserStatusChanged(UserStatusChanged {
                user_id: caller.id,
                availability: status.availability,
                text: status.text.clone(),
                expires_at: status.expires_at,
            }),
        },
    )
    .await?;
    Ok(())
}

/// Sets the caller's status and tells the workspace.
#[instrument(skip_all, fields(user = %caller.id))]
pub async fn set(
    deps: &Deps,
    caller: &CurrentUser,
    input: SetStatus,
) -> Result<UserStatus, AppError> {
    let status = validate(input)?;
    let mut tx = db::begin(deps.pool()).await?;
    repo::statuses::upsert(&mut *tx, caller.id, &status).await?;
    announce(&mut tx, caller, &status).await?;
    events::commit(deps, tx).await?;
    Ok(status)
}

/// Clears the caller's status; the workspace hears of it only if one was in force.
#[instrument(skip_all, fields(user = %caller.id))]
pub async fn clear(deps: &Deps, caller: &CurrentUser) -> Result<(), AppError> {
    let mut tx = db::begin(deps.pool()).await?;
    if repo::statuses::delete(&mut *tx, caller.id).await? {
        let cleared = UserStatus {
            availability: Availability::Active,
            text: None,
            expires_at: None,
        };
        announce(&mut tx, caller, &cleared).await?;
    }
    events::commit(deps, tx).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(text: Option<&str>, expires_in_seconds: Option<i64>) -> SetStatus {
        SetStatus {
            availability: Availability::Dnd,
            text: text.map(str::to_owned),
            expires_at: expires_in_seconds.map(|s| Utc::now() + chrono::Duration::seconds(s)),
        }
    }

    fn code(result: Result<UserStatus, AppError>) -> &'static str {
        match result {
            Ok(_) => "ok",
            Err(AppError::Invalid { code, .. }) => code,
            Err(_) => "other",
        }
    }

    #[test]
    fn texts_are_short_and_expiries_in_the_future() {
        assert_eq!(code(validate(input(Some("focus"), Some(60)))), "ok");
        assert_eq!(
            validate(input(Some("   "), None)).ok().and_then(|s| s.text),
            None
        );
        assert_eq!(
            code(validate(input(Some(&"x".repeat(101)), None))),
            "status_too_long"
        );
        assert_eq!(
            code(validate(input(Some("a\u{7}b"), None))),
            "invalid_status"
        );
        assert_eq!(code(validate(input(None, Some(-1)))), "invalid_expiry");
    }
}
