//! The workspace assistant bots (users with `is_bot`), which bot_server creates.

use fechatter_events::UserId;
use sqlx::PgExecutor;

use crate::db::timed;

/// Those of `ids` that are bots.
pub async fn among(db: impl PgExecutor<'_>, ids: &[UserId]) -> Result<Vec<UserId>, sqlx::Error> {
    timed(
        "users.bots_among",
        sqlx::query_scalar("SELECT id FROM users WHERE id = ANY($1) AND is_bot ORDER BY id")
            .bind(ids)
            .fetch_all(db),
    )
    .await
}
