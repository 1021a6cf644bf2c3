//! Sessions: sign-in, refresh-token rotation and sign-out.

use chrono::{DateTime, Duration as TimeDelta, Utc};
use fechatter_events::payload::RevocationReason;
use sqlx::PgConnection;
use tracing::instrument;
use uuid::Uuid;

use crate::auth::{CurrentUser, Passwords, SigninThrottle, secrets};
use crate::db;
use crate::deps::Deps;
use crate::error::AppError;
use crate::models::User;
use crate::models::auth::{AuthTokens, RefreshRequest, SigninRequest};
use crate::observability::metrics::{BusinessMetrics, SigninResult};
use crate::repo;
use crate::service::events;
use crate::service::sessions::{self, Owner};

/// Longer passwords are refused at sign-up, so sign-in does not spend a hash on them.
pub const MAX_PASSWORD_CHARS: usize = 128;

/// When a session begun at `started` ends, whatever its refreshes.
fn session_end(deps: &Deps, started: DateTime<Utc>) -> Result<DateTime<Utc>, AppError> {
    let lifetime =
        TimeDelta::from_std(deps.config().auth.session_lifetime).map_err(AppError::internal)?;
    Ok(started + lifetime)
}

/// Starts a session (refresh-token family) for `user` and issues its first tokens.
pub(crate) async fn open_session(
    deps: &Deps,
    conn: &mut PgConnection,
    user: User,
) -> Result<AuthTokens, AppError> {
    let session = Uuid::now_v7();
    repo::sessions::insert(&mut *conn, session, user.id).await?;
    issue_tokens(deps, conn, session, session_end(deps, Utc::now())?, user).await
}

async fn issue_tokens(
    deps: &Deps,
    conn: &mut PgConnection,
    session: Uuid,
    ends_at: DateTime<Utc>,
    user: User,
) -> Result<AuthTokens, AppError> {
    let refresh_token = secrets::generate(32);
    let ttl =
        TimeDelta::from_std(deps.config().auth.refresh_token_ttl).map_err(AppError::internal)?;
    repo::sessions::insert_refresh_token(
        conn,
        session,
        &secrets::hash(&refresh_token),
        (Utc::now() + ttl).min(ends_at),
    )
    .await?;
    let access_token = deps.tokens().issue(
        user.id,
        user.workspace_id,
        user.workspace_role.into(),
        session,
        Some(ends_at.timestamp()),
    );
    Ok(AuthTokens {
        access_token,
        refresh_token,
        token_type: "Bearer",
        expires_in: deps.tokens().ttl().as_secs(),
        user,
    })
}

#[instrument(skip_all)]
pub async fn signin(
    deps: &Deps,
    passwords: &Passwords,
    throttle: &SigninThrottle,
    input: SigninRequest,
) -> Result<AuthTokens, AppError> {
    let result = signin_checked(deps, passwords, throttle, input).await;
    match &result {
        Ok(_) => BusinessMetrics::signed_in(SigninResult::Success),
        Err(AppError::InvalidCredentials) => BusinessMetrics::signed_in(SigninResult::Failure),
        Err(_) => {}
    }
    result
}

async fn signin_checked(
    deps: &Deps,
    passwords: &Passwords,
    throttle: &SigninThrottle,
    input: SigninRequest,
) -> Result<AuthTokens, AppError> {
    // Before any hashing: a guesser spread over many addresses still gets few tries per account.
    throttle.check(&input.email)?;
    if input.password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(AppError::InvalidCredentials);
    }
    let credentials = repo::users::find_credentials(deps.pool(), input.email.trim()).await?;
    let (user, hash) = match credentials {
        Some(found) => (Some(found.user), Some(found.password_hash)),
        None => (None, None),
    };
    let matches = passwords.verify(input.password, hash).await?;
    let Some(user) = user.filter(|_| matches) else {
        return Err(AppError::InvalidCredentials);
    };
    let mut tx = db::begin(deps.pool()).await?;
    let tokens = open_session(deps, &mut tx, user).await?;
    db::commit(tx).await?;
    Ok(tokens)
}

/// Rotates a refresh token: the presented one is spent and a new pair is issued in the same
/// session. Presenting a spent token again means it leaked (or a client raced itself): the whole
/// session is revoked, so whoever holds the newer token is signed out too.
#[instrument(skip_all)]
pub async fn refresh(deps: &Deps, input: RefreshRequest) -> Result<AuthTokens, AppError> {
    let mut tx = db::begin(deps.pool()).await?;
    let token = repo::sessions::lock_refresh_token(&mut *tx, &secrets::hash(&input.refresh_token))
        .await?
        .ok_or(AppError::RefreshTokenInvalid)?;
    if token.session_revoked {
        return Err(AppError::SessionRevoked);
    }
    let user = repo::users::find(&mut *tx, token.user_id)
        .await?
        .ok_or(AppError::RefreshTokenInvalid)?;
    if token.rotated {
        let owner = Owner {
            user: user.id,
            workspace: user.workspace_id,
        };
        sessions::revoke(
            &mut tx,
            token.session_id,
            owner,
            RevocationReason::RefreshTokenReused,
        )
        .await?;
        events::commit(deps, tx).await?;
        sessions::forget(deps, token.session_id, token.user_id).await;
        tracing::warn!(session = %token.session_id, "refresh token reused; session revoked");
        return Err(AppError::RefreshTokenReused);
    }
    let ends_at = session_end(deps, token.session_created_at)?;
    if ends_at <= Utc::now() {
        return Err(AppError::SessionExpired);
    }
    if token.expires_at <= Utc::now() {
        return Err(AppError::RefreshTokenExpired);
    }
    repo::sessions::mark_rotated(&mut *tx, token.id).await?;
    let tokens = issue_tokens(deps, &mut tx, token.session_id, ends_at, user).await?;
    db::commit(tx).await?;
    Ok(tokens)
}

#[instrument(skip_all, fields(user = %caller.id))]
pub async fn signout(deps: &Deps, caller: &CurrentUser) -> Result<(), AppError> {
    let mut tx = db::begin(deps.pool()).await?;
    let owner = Owner {
        user: caller.id,
        workspace: caller.workspace_id,
    };
    sessions::revoke(
        &mut tx,
        caller.session_id,
        owner,
        RevocationReason::SignedOut,
    )
    .await?;
    events::commit(deps, tx).await?;
    sessions::forget(deps, caller.session_id, caller.id).await;
    Ok(())
}
