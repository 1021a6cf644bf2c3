//! Sign-up, sign-in, refresh-token rotation, sign-out and workspace invites.

use chrono::{Duration as TimeDelta, Utc};
use fechatter_events::payload::UserSignedUp;
use fechatter_events::{EventKind, WorkspaceId};
use sqlx::PgConnection;
use tracing::instrument;
use uuid::Uuid;

use crate::auth::{CurrentUser, secrets};
use crate::db;
use crate::error::AppError;
use crate::models::auth::{
    AuthTokens, Invite, InviteRequest, RefreshRequest, SigninRequest, SignupRequest,
};
use crate::models::{Role, User};
use crate::observability::metrics::{BusinessMetrics, SigninResult};
use crate::repo;
use crate::repo::invalidations::Stale;
use crate::repo::sessions::SessionState;
use crate::repo::users::NewUser;
use crate::service::events::{self, Event};
use crate::service::{handles, users};
use crate::state::AppState;

const MIN_PASSWORD_CHARS: usize = 8;
const MAX_PASSWORD_CHARS: usize = 128;
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
pub async fn signup(state: &AppState, input: SignupRequest) -> Result<AuthTokens, AppError> {
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
    let password_hash = state.passwords().hash(input.password).await?;
    let new = Signup {
        fullname: &fullname,
        email: &email,
        password_hash: &password_hash,
        handle: requested_handle.as_deref(),
        destination: &destination,
    };
    let mut attempt = 1;
    loop {
        match signup_once(state, &new).await {
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

async fn signup_once(state: &AppState, new: &Signup<'_>) -> Result<AuthTokens, AppError> {
    let mut tx = db::begin(state.pool()).await?;
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
    let tokens = open_session(state, &mut tx, user).await?;
    let user = &tokens.user;
    events::record(
        &mut *tx,
        Event {
            kind: EventKind::UserSignedUp,
            workspace_id,
            chat_id: None,
            actor_id: Some(user.id),
            recipients: vec![user.id],
            data: &UserSignedUp {
                user_id: user.id,
                workspace_id,
                fullname: user.fullname.clone(),
                joined_by_invite: matches!(new.destination, Destination::Invite(_)),
            },
        },
    )
    .await?;
    db::commit(tx).await?;
    Ok(tokens)
}

/// Starts a session (refresh-token family) for `user` and issues its first tokens.
async fn open_session(
    state: &AppState,
    conn: &mut PgConnection,
    user: User,
) -> Result<AuthTokens, AppError> {
    let session = Uuid::now_v7();
    repo::sessions::insert(&mut *conn, session, user.id).await?;
    issue_tokens(state, conn, session, user).await
}

async fn issue_tokens(
    state: &AppState,
    conn: &mut PgConnection,
    session: Uuid,
    user: User,
) -> Result<AuthTokens, AppError> {
    let refresh_token = secrets::generate(32);
    let ttl = TimeDelta::from_std(state.config().refresh_token_ttl).map_err(AppError::internal)?;
    repo::sessions::insert_refresh_token(
        conn,
        session,
        &secrets::hash(&refresh_token),
        Utc::now() + ttl,
    )
    .await?;
    Ok(AuthTokens {
        access_token: state.tokens().issue(user.id, user.workspace_id, session),
        refresh_token,
        token_type: "Bearer",
        expires_in: state.tokens().ttl().as_secs(),
        user,
    })
}

#[instrument(skip_all)]
pub async fn signin(state: &AppState, input: SigninRequest) -> Result<AuthTokens, AppError> {
    let result = signin_checked(state, input).await;
    match &result {
        Ok(_) => BusinessMetrics::signed_in(SigninResult::Success),
        Err(AppError::InvalidCredentials) => BusinessMetrics::signed_in(SigninResult::Failure),
        Err(_) => {}
    }
    result
}

async fn signin_checked(state: &AppState, input: SigninRequest) -> Result<AuthTokens, AppError> {
    if input.password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(AppError::InvalidCredentials);
    }
    let credentials = repo::users::find_credentials(state.pool(), input.email.trim()).await?;
    let (user, hash) = match credentials {
        Some(found) => (Some(found.user), Some(found.password_hash)),
        None => (None, None),
    };
    let matches = state.passwords().verify(input.password, hash).await?;
    let Some(user) = user.filter(|_| matches) else {
        return Err(AppError::InvalidCredentials);
    };
    let mut tx = db::begin(state.pool()).await?;
    let tokens = open_session(state, &mut tx, user).await?;
    db::commit(tx).await?;
    Ok(tokens)
}

/// Rotates a refresh token: the presented one is spent and a new pair is issued in the same
/// session. Presenting a spent token again means it leaked (or a client raced itself): the whole
/// session is revoked, so whoever holds the newer token is signed out too.
#[instrument(skip_all)]
pub async fn refresh(state: &AppState, input: RefreshRequest) -> Result<AuthTokens, AppError> {
    let mut tx = db::begin(state.pool()).await?;
    let token = repo::sessions::lock_refresh_token(&mut *tx, &secrets::hash(&input.refresh_token))
        .await?
        .ok_or(AppError::RefreshTokenInvalid)?;
    if token.session_revoked {
        return Err(AppError::SessionRevoked);
    }
    if token.rotated {
        repo::sessions::revoke(&mut *tx, token.session_id).await?;
        repo::invalidations::announce(&mut *tx, Stale::Session(token.session_id)).await?;
        db::commit(tx).await?;
        mark_revoked(state, token.session_id, token.user_id).await;
        tracing::warn!(session = %token.session_id, "refresh token reused; session revoked");
        return Err(AppError::RefreshTokenReused);
    }
    if token.expires_at <= Utc::now() {
        return Err(AppError::RefreshTokenExpired);
    }
    repo::sessions::mark_rotated(&mut *tx, token.id).await?;
    let user = repo::users::find(&mut *tx, token.user_id)
        .await?
        .ok_or(AppError::RefreshTokenInvalid)?;
    let tokens = issue_tokens(state, &mut tx, token.session_id, user).await?;
    db::commit(tx).await?;
    Ok(tokens)
}

#[instrument(skip_all, fields(user = %caller.id))]
pub async fn signout(state: &AppState, caller: &CurrentUser) -> Result<(), AppError> {
    let mut tx = db::begin(state.pool()).await?;
    repo::sessions::revoke(&mut *tx, caller.session_id).await?;
    repo::invalidations::announce(&mut *tx, Stale::Session(caller.session_id)).await?;
    db::commit(tx).await?;
    mark_revoked(state, caller.session_id, caller.id).await;
    Ok(())
}

/// Makes this instance refuse the session's access tokens at once; the others follow when the
/// announcement reaches them.
async fn mark_revoked(state: &AppState, session: Uuid, user: fechatter_events::UserId) {
    state
        .caches()
        .sessions
        .insert(
            session,
            SessionState {
                user_id: user,
                revoked: true,
            },
        )
        .await;
}

#[instrument(skip_all, fields(user = %caller.id))]
pub async fn create_invite(
    state: &AppState,
    caller: &CurrentUser,
    input: InviteRequest,
) -> Result<Invite, AppError> {
    let user = users::current(state, caller).await?;
    if user.workspace_role < Role::Admin {
        return Err(AppError::Forbidden(
            "only the workspace owner or an admin may invite",
        ));
    }
    let max_uses = input.max_uses.unwrap_or(1);
    let hours = input.expires_in_hours.unwrap_or(7 * 24);
    if !(1..=1000).contains(&max_uses) || !(1..=30 * 24).contains(&hours) {
        return Err(AppError::invalid(
            "invalid_invite",
            "max_uses must be 1 to 1000 and expires_in_hours 1 to 720",
        ));
    }
    let code = secrets::generate(16);
    let expires_at = Utc::now() + TimeDelta::hours(hours);
    repo::invites::insert(
        state.pool(),
        user.workspace_id,
        &secrets::hash(&code),
        user.id,
        max_uses,
        expires_at,
    )
    .await?;
    Ok(Invite {
        code,
        workspace_id: user.workspace_id,
        max_uses,
        expires_at,
    })
}
