//! Sign-up: a new workspace, or joining one with an invite code.

use fechatter_events::Event as DomainEvent;
use fechatter_events::WorkspaceId;
use fechatter_events::payload::UserSignedUp;
use tracing::instrument;

use crate::auth::{Passwords, secrets};
use crate::db;
use crate::deps::Deps;
use crate::error::AppError;
use crate::models::Role;
use crate::models::auth::{AuthTokens, SignupRequest};
use crate::observability::metrics::BusinessMetrics;
use crate::repo;
use crate::repo::users::NewUser;
use crate::service::auth::{MAX_PASSWORD_CHARS, open_session};
use crate::service::events::{self, Event};
use crate::service::handles;

const MIN_PASSWORD_CHARS: usize = 8;
/// How often sign-up retries when a derived handle was taken by a concurrent sign-up.
const HANDLE_ATTEMPTS: usize = 3;

fn text_field(value: &str, field: &'static str, max_chars: usize) -> Result<String, AppError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max_chars {
        return Err(AppError::invalid(
            "invalid_field",
            format!("{field} must be 1 to {max_chars} characters"),
        ));
    }
    Ok(value.to_owned())
}

fn email(value: &str) -> Result<String, AppError> {
    let value = value.trim();
    let valid = value.len() <= 254
        && !value.contains(char::is_whitespace)
        && value.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        });
    if !valid {
        return Err(AppError::invalid(
            "invalid_email",
            "email is not a valid address",
        ));
    }
    Ok(value.to_owned())
}

fn password(value: &str) -> Result<(), AppError> {
    let chars = value.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        return Err(AppError::invalid(
            "weak_password",
            format!("password must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"),
        ));
    }
    Ok(())
}

/// Where a new user goes: a new workspace they own, or the one an invite opens.
enum Destination {
    NewWorkspace(String),
    Invite(String),
}

#[instrument(skip_all, fields(invite = input.invite_code.is_some()))]
pub async fn signup(
    deps: &Deps,
    passwords: &Passwords,
    input: SignupRequest,
) -> Result<AuthTokens, AppError> {
    let fullname = text_field(&input.fullname, "fullname", 64)?;
    let email = email(&input.email)?;
    password(&input.password)?;
    let requested_handle = match input.handle.as_deref().map(str::trim) {
        Some(handle) if !handles::is_valid(handle) => {
            return Err(AppError::invalid(
                "invalid_handle",
                "handle must be 1 to 32 of a-z 0-9 . _ - and start with a letter or digit",
            ));
        }
        Some(handle) if handles::is_reserved(handle) => {
            return Err(AppError::invalid(
                "invalid_handle",
                format!("the handle {handle} is reserved"),
            ));
        }
        handle => handle.map(str::to_owned),
    };
    let destination = match (input.invite_code, input.workspace) {
        (Some(code), _) => Destination::Invite(code),
        (None, Some(name)) => Destination::NewWorkspace(text_field(&name, "workspace", 64)?),
        (None, None) => {
            return Err(AppError::invalid(
                "workspace_required",
                "give a workspace name to create one, or an invite_code to join one",
            ));
        }
    };
    let password_hash = passwords.hash(input.password).await?;
    let new = Signup {
        fullname: &fullname,
        email: &email,
        password_hash: &password_hash,
        handle: requested_handle.as_deref(),
        destination: &destination,
    };
    let mut attempt = 1;
    loop {
        match signup_once(deps, &new).await {
            Err(AppError::Conflict {
                code: "handle_taken",
                ..
            }) if new.handle.is_none() && attempt < HANDLE_ATTEMPTS => {
                attempt += 1;
            }
            Ok(tokens) => {
                BusinessMetrics::signed_up();
                return Ok(tokens);
            }
            Err(err) => return Err(err),
        }
    }
}

struct Signup<'a> {
    fullname: &'a str,
    email: &'a str,
    password_hash: &'a str,
    handle: Option<&'a str>,
    destination: &'a Destination,
}

async fn signup_once(deps: &Deps, new: &Signup<'_>) -> Result<AuthTokens, AppError> {
    let mut tx = db::begin(deps.pool()).await?;
    let (workspace_id, role): (WorkspaceId, Role) = match new.destination {
        Destination::Invite(code) => {
            let workspace = repo::invites::redeem(&mut *tx, &secrets::hash(code))
                .await?
                .ok_or_else(|| {
                    AppError::invalid(
                        "invalid_invite",
                        "the invite code is unknown, expired or used up",
                    )
                })?;
            (workspace, Role::Member)
        }
        Destination::NewWorkspace(name) => (
            repo::users::insert_workspace(&mut *tx, name).await?,
            Role::Owner,
        ),
    };
    let handle = match new.handle {
        Some(handle) => handle.to_owned(),
        None => {
            let base = handles::derive(new.email);
            let taken = repo::users::handles_like(&mut *tx, workspace_id, &base).await?;
            handles::first_free(&base, &taken)
        }
    };
    let user = repo::users::insert(
        &mut *tx,
        NewUser {
            workspace_id,
            fullname: new.fullname,
            handle: &handle,
            email: new.email,
            password_hash: new.password_hash,
            role,
        },
    )
    .await
    .map_err(|err| match db::unique_violation(&err) {
        Some("users_email_key") => {
            AppError::conflict("email_taken", "this email is already registered")
        }
        Some("users_workspace_handle_key") => {
            AppError::conflict("handle_taken", "this handle is taken in the workspace")
        }
        _ => AppError::from(err),
    })?;
    let tokens = open_session(deps, &mut tx, user).await?;
    let user = &tokens.user;
    events::record(
        &mut *tx,
        Event {
            workspace_id,
            chat_id: None,
            actor_id: Some(user.id),
            recipients: vec![user.id],
            event: DomainEvent::UserSignedUp(UserSignedUp {
                user_id: user.id,
                workspace_id,
                fullname: user.fullname.clone(),
                joined_by_invite: matches!(new.destination, Destination::Invite(_)),
            }),
        },
    )
    .await?;
    events::commit(deps, tx).await?;
    Ok(tokens)
}
