//! Every table has one owning service and only its code writes it (`docs/design/topology.md`,
//! "Who writes which table"): a service that needs a change in another's table asks the owner.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use regex::Regex;

/// The owner of each table fechatter_server's migrations create.
const OWNERS: &[(&str, &[&str])] = &[
    (
        "fechatter_server",
        &[
            "workspaces",
            "users",
            "sessions",
            "refresh_tokens",
            "invites",
            "chats",
            "chat_members",
            "chat_bot_removals",
            "messages",
            "message_edits",
            "message_files",
            "message_pins",
            "mentions",
            "reactions",
            "files",
            "user_statuses",
            "message_threads",
            "thread_followers",
            "incoming_webhooks",
            "outgoing_webhooks",
            "webhook_deliveries",
            "outbox",
        ],
    ),
    (
        "bot_server",
        &["search_documents", "bot_answers", "bot_processed_events"],
    ),
];

/// The crates whose code runs as a service (shared crates write nothing).
const SERVICES: &[&str] = &[
    "fechatter_server",
    "notify_server",
    "bot_server",
    "analytics_server",
    "fechatter_push",
    "fechatter_search",
    "fechatter_events",
    "fechatter_auth",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

fn tables_created() -> BTreeSet<String> {
    let create = Regex::new(r"(?i)create\s+table\s+(?:if\s+not\s+exists\s+)?([a-z_]+)")
        .unwrap_or_else(|err| panic!("{err}"));
    let mut tables = BTreeSet::new();
    let dir = root().join("fechatter_server/migrations");
    for entry in std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .flatten()
    {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        for capture in create.captures_iter(&text) {
            tables.insert(capture[1].to_lowercase());
        }
    }
    tables
}

#[test]
fn every_table_has_one_owner() {
    let owned: Vec<&str> = OWNERS
        .iter()
        .flat_map(|(_, tables)| tables.iter().copied())
        .collect();
    let unique: BTreeSet<&str> = owned.iter().copied().collect();
    assert_eq!(unique.len(), owned.len(), "a table with two owners");
    let created = tables_created();
    let unowned: Vec<&String> = created
        .iter()
        .filter(|table| !unique.contains(table.as_str()))
        .collect();
    assert!(
        unowned.is_empty(),
        "tables without an owner in OWNERS (and docs/design/topology.md): {unowned:?}"
    );
}

#[test]
fn only_a_tables_owner_writes_it() {
    let write = Regex::new(r"(?i)\b(?:insert\s+into|update|delete\s+from)\s+([a-z_]+)")
        .unwrap_or_else(|err| panic!("{err}"));
    let created = tables_created();
    let mut trespasses = Vec::new();
    for service in SERVICES {
        let owns: &[&str] = OWNERS
            .iter()
            .find(|(owner, _)| owner == service)
            .map(|(_, tables)| *tables)
            .unwrap_or_default();
        let mut files = Vec::new();
        rust_files(&root().join(service).join("src"), &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            for capture in write.captures_iter(&text) {
                let table = capture[1].to_lowercase();
                if created.contains(&table) && !owns.contains(&table.as_str()) {
                    trespasses.push(format!("{} writes {table}", file.display()));
                }
            }
        }
    }
    assert!(trespasses.is_empty(), "{trespasses:#?}");
}
