//! Chat data written straight into fechatter's schema with set-based SQL (the API would take
//! minutes to create half a million messages), and access tokens for the seeded users.
//!
//! The shape: one workspace, `chats` group chats of `chat_size` members each, every user in exactly
//! one of them, one open sign-in session per user.

use std::time::Duration;

use anyhow::Context;
use fechatter_auth::{TokenSigner, WorkspaceRole};
use fechatter_events::{UserId, WorkspaceId};

use crate::BenchKeys;
use sqlx::PgPool;
use uuid::Uuid;

/// Long enough for any scenario; notify ends a stream when its token expires.
const TOKEN_TTL: Duration = Duration::from_secs(4 * 3600);

/// About the length of a typical chat line.
pub const CONTENT: &str = "bench message: the quick brown fox jumps over the lazy dog, twice, \
                           and then checks the build";

#[derive(Debug, Clone)]
pub struct ChatUser {
    pub id: i64,
    pub chat: i64,
    pub token: String,
}

#[derive(Debug, Clone)]
pub struct Seeded {
    pub workspace: i64,
    pub chats: Vec<i64>,
    /// Users in chat order: chat `k` has users `k * chat_size ..`.
    pub users: Vec<ChatUser>,
}

/// Signs access tokens as fechatter_server would, for seeded users.
pub fn signer(keys: &BenchKeys) -> anyhow::Result<TokenSigner> {
    Ok(TokenSigner::from_private_pem(&keys.private_pem, TOKEN_TTL)?)
}

/// A member's access token for `user` in `workspace` on sign-in session `session`.
pub fn token(signer: &TokenSigner, user: UserId, workspace: WorkspaceId, session: Uuid) -> String {
    signer.issue(user, workspace, WorkspaceRole::Member, session, None)
}

/// Creates the workspace, users, sessions, chats and memberships.
pub async fn chats(
    pool: &PgPool,
    keys: &BenchKeys,
    chats: usize,
    chat_size: usize,
) -> anyhow::Result<Seeded> {
    let signer = signer(keys)?;
    let mut tx = pool.begin().await?;
    let workspace: i64 =
        sqlx::query_scalar("INSERT INTO workspaces (name) VALUES ('bench') RETURNING id")
            .fetch_one(&mut *tx)
            .await
            .context("seeding the workspace")?;
    let count = i64::try_from(chats * chat_size)?;
    let user_ids: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO users (workspace_id, fullname, handle, email, password_hash)
         SELECT $1, 'Bench User ' || g, 'bench' || g, 'bench' || g || '@bench.invalid', 'unusable'
         FROM generate_series(1, $2) AS g
         RETURNING id",
    )
    .bind(workspace)
    .bind(count)
    .fetch_all(&mut *tx)
    .await
    .context("seeding users")?;
    let mut user_ids = user_ids;
    user_ids.sort_unstable();
    let sessions: Vec<Uuid> = user_ids.iter().map(|_| Uuid::now_v7()).collect();
    sqlx::query(
        "INSERT INTO sessions (id, user_id) SELECT * FROM unnest($1::uuid[], $2::bigint[])",
    )
    .bind(&sessions)
    .bind(&user_ids)
    .execute(&mut *tx)
    .await
    .context("seeding sessions")?;
    let owners: Vec<i64> = user_ids.iter().step_by(chat_size).copied().collect();
    let mut chat_ids: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO chats (workspace_id, chat_type, name, owner_id)
         SELECT $1, 'group', 'bench chat ' || n, owner
         FROM unnest($2::bigint[]) WITH ORDINALITY AS o(owner, n)
         RETURNING id",
    )
    .bind(workspace)
    .bind(&owners)
    .fetch_all(&mut *tx)
    .await
    .context("seeding chats")?;
    chat_ids.sort_unstable();
    let member_chats: Vec<i64> = (0..user_ids.len())
        .map(|i| chat_ids[i / chat_size])
        .collect();
    let roles: Vec<&str> = (0..user_ids.len())
        .map(|i| {
            if i % chat_size == 0 {
                "owner"
            } else {
                "member"
            }
        })
        .collect();
    sqlx::query(
        "INSERT INTO chat_members (chat_id, user_id, role)
         SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[])",
    )
    .bind(&member_chats)
    .bind(&user_ids)
    .bind(&roles)
    .execute(&mut *tx)
    .await
    .context("seeding members")?;
    tx.commit().await?;
    let users = user_ids
        .iter()
        .zip(&member_chats)
        .zip(&sessions)
        .map(|((&id, &chat), &sid)| ChatUser {
            id,
            chat,
            token: token(&signer, UserId(id), WorkspaceId(workspace), sid),
        })
        .collect();
    Ok(Seeded {
        workspace,
        chats: chat_ids,
        users,
    })
}

/// Adds `count` messages to `chat`, sent by `sender`, oldest first (ids grow with time).
pub async fn messages(pool: &PgPool, chat: i64, sender: i64, count: i64) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO messages (chat_id, sender_id, content, created_at)
         SELECT $1, $2, $3 || ' #' || g, now() - make_interval(secs => $4 - g)
         FROM generate_series(1, $4) AS g",
    )
    .bind(chat)
    .bind(sender)
    .bind(CONTENT)
    .bind(count)
    .execute(pool)
    .await
    .with_context(|| format!("seeding {count} messages"))?;
    Ok(())
}

/// A chat of its own for the deep-pagination check, whose members are the users of chat 0 (so
/// their tokens work there too).
pub async fn extra_chat(pool: &PgPool, seeded: &Seeded, chat_size: usize) -> anyhow::Result<i64> {
    let members: Vec<i64> = seeded.users[..chat_size].iter().map(|u| u.id).collect();
    let mut tx = pool.begin().await?;
    let chat: i64 = sqlx::query_scalar(
        "INSERT INTO chats (workspace_id, chat_type, name, owner_id)
         VALUES ($1, 'group', 'bench deep chat', $2) RETURNING id",
    )
    .bind(seeded.workspace)
    .bind(members[0])
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO chat_members (chat_id, user_id, role)
         SELECT $1, user_id, CASE WHEN n = 1 THEN 'owner' ELSE 'member' END
         FROM unnest($2::bigint[]) WITH ORDINALITY AS m(user_id, n)",
    )
    .bind(chat)
    .bind(&members)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(chat)
}

/// Fresh planner statistics after a bulk load, as autovacuum would eventually produce.
pub async fn analyze(pool: &PgPool) -> anyhow::Result<()> {
    sqlx::query("VACUUM ANALYZE messages").execute(pool).await?;
    sqlx::query("ANALYZE chats, chat_members, users, sessions")
        .execute(pool)
        .await?;
    Ok(())
}
