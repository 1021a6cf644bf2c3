//! pgbench on the send scenario's database: the peer (one `INSERT … RETURNING` per transaction)
//! and, to tell the database's share of a send from the service's, fechatter's own statement for a
//! plain message replayed by pgbench, and the transaction of four round trips it replaced (BEGIN,
//! the insert, the outbox insert, COMMIT: what a message with a reply, files or mentions still
//! runs, with their statements besides).

use std::time::Duration;

use anyhow::bail;
use chrono::Utc;
use fechatter_events::payload::MessagePayload;
use fechatter_events::{ChatId, ChatType, Envelope, MessageId, UserId, WorkspaceId};
use fechatter_server::repo::outbox::CHAT_ORDER_LOCK;
use fechatter_server::repo::sends::batch::STATEMENT as BATCH_STATEMENT;

use super::super::{pgbench_row, with_cpu};
use crate::Setup;
use crate::procfs::CpuMark;
use crate::report::Row;
use crate::seed::{CONTENT, Seeded};

/// A member of a chat, as in the API run.
const PICK: &str = "\\set k random(0, :users - 1)
\\set chat :first_chat + :k / :chat_size
\\set sender :first_user + :k
";

const INSERT: &str = "INSERT INTO messages (chat_id, sender_id, content, idempotency_key)
VALUES (:chat, :sender, :content, gen_random_uuid()::text)
RETURNING id, chat_id, sender_id, content, reply_to, created_at, edited_at, deleted_at;
";

fn order_lock() -> String {
    format!("pg_advisory_xact_lock({CHAT_ORDER_LOCK}, (:chat % 2147483647)::int)")
}

/// The members, the chat's order lock and the insert (`repo::sends`), without a statement end.
fn insert_as_member() -> String {
    let lock = order_lock();
    format!(
        "WITH ordered AS MATERIALIZED (SELECT {lock}),
members AS MATERIALIZED (SELECT user_id, role FROM chat_members WHERE chat_id = :chat),
inserted AS (INSERT INTO messages (chat_id, sender_id, content, idempotency_key)
SELECT :chat, :sender, :content, gen_random_uuid()::text FROM ordered
WHERE EXISTS (SELECT 1 FROM members WHERE user_id = :sender)
RETURNING id, chat_id, sender_id, content, reply_to, created_at, edited_at, deleted_at)"
    )
}

const SEND_RESULT: &str = "
SELECT (SELECT array_agg(user_id ORDER BY user_id) FROM members) AS member_ids,
(SELECT array_agg(role::text ORDER BY user_id) FROM members) AS member_roles, inserted.*
FROM (SELECT 1) AS one LEFT JOIN inserted ON true;
";

/// What `service::messages::send` runs for a plain message (no reply, files or mentions) when it
/// is the only one waiting: the batch statement of `repo::sends::batch` with one send, committed
/// on its own, that also writes the outbox row with the recipients, id and time filled in.
fn one_statement() -> anyhow::Result<String> {
    let statement = BATCH_STATEMENT
        .replace("$1::", "ARRAY[:chat]::")
        .replace("$2::", "ARRAY[:sender]::")
        .replace("$3::", "ARRAY[:content]::")
        .replace("$4::", "ARRAY[NULL]::")
        .replace("$5::", "ARRAY[gen_random_uuid()::text]::")
        .replace("$6::", "ARRAY[gen_random_uuid()]::")
        .replace("$7::", "ARRAY[:envelope]::")
        .replace("$8", &CHAT_ORDER_LOCK.to_string())
        // pgbench would take `:MI` for a variable: the same format with its colons as chr(58).
        .replace(":MI:SS", "' || chr(58) || 'MI' || chr(58) || 'SS");
    // A parameter the statement gained since would reach pgbench unbound.
    if statement.contains('$') {
        bail!("repo::sends::batch::STATEMENT has a parameter the replay does not fill in");
    }
    Ok(format!("{PICK}{statement};\n"))
}

/// The transaction a send was before the one statement, and what a message with a reply, files or
/// mentions still runs around their own statements: BEGIN, the insert, the outbox insert (which
/// takes the order lock again), COMMIT.
fn transaction() -> String {
    let (insert, lock) = (insert_as_member(), order_lock());
    format!(
        "{PICK}BEGIN;
{insert}{SEND_RESULT}INSERT INTO outbox (event_id, kind, envelope)
SELECT gen_random_uuid(), 'message.created', :envelope::jsonb FROM (SELECT {lock}) AS ordered;
COMMIT;
"
    )
}

/// The envelope of a message to a chat of `chat_size`, as the outbox stores it.
fn envelope(chat_size: usize) -> anyhow::Result<String> {
    let members: Vec<UserId> = (1..=chat_size as i64).map(UserId).collect();
    let payload = MessagePayload {
        id: MessageId(1),
        chat_id: ChatId(1),
        chat_type: ChatType::Group,
        sender_id: UserId(1),
        sender_is_bot: false,
        content: CONTENT.to_owned(),
        reply_to: None,
        mentions: Vec::new(),
        silenced_mentions: Vec::new(),
        files: Vec::new(),
        created_at: Utc::now(),
        edited_at: None,
    };
    let envelope = Envelope::new(
        WorkspaceId(1),
        Some(ChatId(1)),
        Some(UserId(1)),
        members,
        &fechatter_events::Event::MessageCreated(payload.clone()),
    )?;
    Ok(String::from_utf8(envelope.to_json()?)?)
}

/// Ids must be consecutive for pgbench's arithmetic; they are in a fresh database.
fn consecutive(ids: impl Iterator<Item = i64>) -> bool {
    let ids: Vec<i64> = ids.collect();
    ids.windows(2).all(|pair| pair[1] == pair[0] + 1)
}

async fn one(
    setup: &Setup,
    database_url: &str,
    postgres: Option<u32>,
    (system, script): (&str, &str),
    vars: &[(&str, String)],
    duration: Duration,
) -> anyhow::Result<Row> {
    let clients = setup.scale.db_connections;
    if !setup.warmup.is_zero() {
        let warmup = setup.warmup.min(duration);
        setup
            .pgbench
            .run(database_url, script, clients, warmup, vars)
            .await?;
    }
    let db_cpu = postgres.map(CpuMark::tree).transpose()?;
    let run = setup
        .pgbench
        .run(database_url, script, clients, duration, vars)
        .await?;
    let cpu = db_cpu.map(|mark| mark.elapsed()).transpose()?;
    Ok(with_cpu(
        pgbench_row(system, &run, duration.as_secs().max(1) as f64),
        None,
        cpu.map(|cpu| ("Postgres", cpu)),
        None,
    ))
}

/// The peer row first, then the replays of fechatter's statement and of its former transaction.
pub async fn rows(
    setup: &Setup,
    database_url: &str,
    postgres: Option<u32>,
    seeded: &Seeded,
) -> anyhow::Result<Vec<Row>> {
    if !consecutive(seeded.chats.iter().copied()) || !consecutive(seeded.users.iter().map(|u| u.id))
    {
        bail!("seeded ids are not consecutive; pgbench cannot address them");
    }
    let scale = &setup.scale;
    let vars = [
        ("users", seeded.users.len().to_string()),
        ("chat_size", scale.chat_size.to_string()),
        ("first_chat", seeded.chats[0].to_string()),
        ("first_user", seeded.users[0].id.to_string()),
        ("content", CONTENT.to_owned()),
        ("envelope", envelope(scale.chat_size)?),
    ];
    let insert = format!("{PICK}{INSERT}");
    let (statement, transaction) = (one_statement()?, transaction());
    let diagnostic = (setup.duration / 2).max(Duration::from_secs(1));
    let mut rows = vec![
        one(
            setup,
            database_url,
            postgres,
            ("pgbench INSERT … RETURNING (same table)", &insert),
            &vars,
            setup.duration,
        )
        .await?,
    ];
    for (system, script) in [
        (
            "pgbench, fechatter's send statement (plain message)",
            &statement,
        ),
        (
            "pgbench, the former send transaction (4 round trips)",
            &transaction,
        ),
    ] {
        let mut row = one(
            setup,
            database_url,
            postgres,
            (system, script),
            &vars,
            diagnostic,
        )
        .await?;
        // A diagnosis of the service's cost, not the peer it is held to.
        row.peer = false;
        rows.push(row);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_replay_fills_every_parameter_of_the_batch_statement_and_keeps_no_pgbench_colon_clash() {
        let script = one_statement().unwrap_or_else(|err| panic!("{err}"));
        assert!(script.contains("ARRAY[:chat]::bigint[]"), "{script}");
        assert!(!script.contains(":MI"), "{script}");
        assert!(!script.contains('$'), "{script}");
    }
}
