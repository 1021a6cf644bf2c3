//! pgbench on the bot scenario's database, as many clients as the bot handles events at once:
//! the peer (one plain `INSERT` of a document row per transaction, into a table of
//! `search_documents`' definition: the generated tsvector, both GIN indexes, the chat index, the
//! checks and foreign keys) and, to tell the database's share of indexing from the bot's, the bot's
//! own three statements per event replayed (the redelivery check, the versioned upsert, the
//! processed-event insert; each its own transaction, as the bot runs them), and the plain insert
//! again with as many clients as the other scenarios give Postgres: how far more connections
//! committing at once would carry the same table.

use std::time::Duration;

use anyhow::{Context, bail};
use fechatter_search::embedding::HashedNgrams;
use fechatter_search::text::search_text;
use sqlx::PgPool;

use super::super::{pgbench_row, with_cpu};
use crate::Setup;
use crate::procfs::CpuMark;
use crate::report::Row;
use crate::seed::{CONTENT, Seeded};

/// Rows the peer may insert per second of its runs: each needs a message of its own to reference.
/// Past it pgbench stops on a foreign-key violation and the scenario fails, never mis-measures.
const MAX_RATE: u64 = 10_000;

const TABLES: &[&str] = &[
    "CREATE TABLE bench_peer_documents (LIKE search_documents INCLUDING ALL)",
    "ALTER TABLE bench_peer_documents
         ADD FOREIGN KEY (message_id) REFERENCES messages (id) ON DELETE CASCADE,
         ADD FOREIGN KEY (chat_id) REFERENCES chats (id) ON DELETE CASCADE",
    "CREATE TABLE bench_peer_processed (LIKE bot_processed_events INCLUDING ALL)",
];

const PICK: &str = "\\set chat random(:first_chat, :last_chat)
\\set sender :first_user + (:chat - :first_chat) * :chat_size
";

const COLUMNS: &str = "(message_id, chat_id, workspace_id, sender_id, sender_is_bot, content, \
                       search_text, created_at, version, embedding, embedding_model)";

const VALUES: &str = "VALUES (nextval('bench_peer_ids'), :chat, :workspace, :sender, false, \
                      :content, :search_text, now(), now(), :embedding::real[], :model)";

fn insert() -> String {
    format!("{PICK}INSERT INTO bench_peer_documents {COLUMNS}\n{VALUES};\n")
}

/// `repo::processed::contains`, `repo::documents::upsert`, `repo::processed::insert` of
/// bot_server, on the peer's tables.
fn bot_statements() -> String {
    format!(
        "{PICK}\\set event random(1, 1000000000000000)
SELECT EXISTS (SELECT 1 FROM bench_peer_processed WHERE event_id = md5(:event::text)::uuid);
INSERT INTO bench_peer_documents AS d {COLUMNS}
{VALUES}
ON CONFLICT (message_id) DO UPDATE SET sender_id = EXCLUDED.sender_id, \
sender_is_bot = EXCLUDED.sender_is_bot, content = EXCLUDED.content, \
search_text = EXCLUDED.search_text, created_at = EXCLUDED.created_at, version = EXCLUDED.version, \
embedding = EXCLUDED.embedding, embedding_model = EXCLUDED.embedding_model, indexed_at = now() \
WHERE d.deleted_at IS NULL AND d.version < EXCLUDED.version;
INSERT INTO bench_peer_processed (event_id) VALUES (md5(:event::text)::uuid) ON CONFLICT DO NOTHING;
"
    )
}

/// The peer's tables, and the messages its rows reference (ids taken in order by a sequence).
async fn prepare(pool: &PgPool, seeded: &Seeded, rows: u64) -> anyhow::Result<()> {
    for sql in TABLES {
        sqlx::query(sql)
            .execute(pool)
            .await
            .context("peer tables")?;
    }
    let (first, last): (i64, i64) = sqlx::query_as(
        "WITH added AS (
             INSERT INTO messages (chat_id, sender_id, content)
             SELECT $1, $2, $3 || ' #' || g FROM generate_series(1, $4) AS g
             RETURNING id)
         SELECT min(id), max(id) FROM added",
    )
    .bind(seeded.chats[0])
    .bind(seeded.users[0].id)
    .bind(CONTENT)
    .bind(i64::try_from(rows)?)
    .fetch_one(pool)
    .await
    .context("seeding the peer's messages")?;
    if last - first + 1 != i64::try_from(rows)? {
        bail!("the peer's messages are not consecutive");
    }
    sqlx::query(&format!(
        "CREATE SEQUENCE bench_peer_ids MINVALUE {first} MAXVALUE {last} START {first}"
    ))
    .execute(pool)
    .await?;
    Ok(())
}

/// The peer row, then the replay of the bot's statements.
pub async fn rows(
    setup: &Setup,
    pool: &PgPool,
    database_url: &str,
    postgres: Option<u32>,
    seeded: &Seeded,
    clients: u32,
) -> anyhow::Result<Vec<Row>> {
    let replay = (setup.duration / 2).max(Duration::from_secs(1));
    let seconds = (setup.warmup + setup.duration + 2 * replay).as_secs() + 2;
    prepare(pool, seeded, MAX_RATE * seconds).await?;
    let embedder = HashedNgrams::new(fechatter_search::embedding::DEFAULT_DIMENSIONS)
        .map_err(|err| anyhow::anyhow!("{err:?}"))?;
    let content = format!("{CONTENT} #1");
    let vector: Vec<String> = embedder
        .embed(&content)
        .iter()
        .map(|x| x.to_string())
        .collect();
    let first_user = seeded.users.first().map_or(0, |u| u.id);
    let chat_size = i64::try_from(seeded.users.len() / seeded.chats.len().max(1))?;
    let vars = [
        ("first_chat", seeded.chats[0].to_string()),
        (
            "last_chat",
            seeded.chats.last().copied().unwrap_or_default().to_string(),
        ),
        // The first member of each chat: chat k's members start at first_user + k * chat_size.
        ("first_user", first_user.to_string()),
        ("chat_size", chat_size.to_string()),
        ("workspace", seeded.workspace.to_string()),
        ("content", content.clone()),
        ("search_text", search_text(&content)),
        ("embedding", format!("{{{}}}", vector.join(","))),
        ("model", embedder.model()),
    ];
    let mut rows = Vec::new();
    let many = setup.scale.db_connections;
    let scripts = [
        (
            "pgbench INSERT of the same rows (same table definition)".to_owned(),
            insert(),
            clients,
            setup.duration,
            true,
        ),
        (
            "pgbench, the bot's three statements per event".to_owned(),
            bot_statements(),
            clients,
            replay,
            false,
        ),
        (
            format!("pgbench INSERT of the same rows, {many} clients"),
            insert(),
            many,
            replay,
            false,
        ),
    ];
    for (index, (system, script, clients, duration, peer)) in scripts.into_iter().enumerate() {
        if index == 0 && !setup.warmup.is_zero() {
            setup
                .pgbench
                .run(database_url, &script, clients, setup.warmup, &vars)
                .await?;
        }
        let db_cpu = postgres.map(CpuMark::tree).transpose()?;
        let run = setup
            .pgbench
            .run(database_url, &script, clients, duration, &vars)
            .await?;
        let cpu = db_cpu.map(|mark| mark.elapsed()).transpose()?;
        let mut row = with_cpu(
            pgbench_row(&system, &run, duration.as_secs().max(1) as f64),
            None,
            cpu.map(|cpu| ("Postgres", cpu)),
            None,
        );
        row.peer = peer;
        rows.push(row);
    }
    Ok(rows)
}
