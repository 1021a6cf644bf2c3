//! Sessions: sign-in, refresh-token rotation and sign-out.

use chrono::{Duration as TimeDelta, Utc};
use sqlx::PgConnection;
use tracing::instrument;
use uuid::Uuid;

use crate::auth::{CurrentUser, secrets};
use crate::db;
use crate::error::AppError;
use crate::models::User;
use crate::models::auth::{AuthTokens, RefreshRequest, SigninRequest};
use crate::observability::metrics::{BusinessMetrics, SigninResult};
use crate::repo;
use crate::repo::invalidations::Stale;
use crate::repo::sessions::SessionState;
use crate::state::AppState;

/// Longer passwords are refused at sign-up, so sign-in does not spend a hash on them.
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Starts a session (refresh-token family) for `user` and issues its first tokens.
pub(crate) async fn open_session(
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
