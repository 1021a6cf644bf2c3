//! The list scenario's pgbench scripts: the same SQL as `fechatter_server::repo::messages`.

/// What `service::listing::page` asks Postgres for one page the page cache does not hold: the
/// page, the mentions and who reacted with what to its messages (the ids of a seeded chat's newest
/// 51 are known; the file query is left out, as before).
pub const PGBENCH_LIST_QUERIES: &str = "\\set k random(0, :chats - 1)
\\set chat :first_chat + :k
\\set top :first_message + (:k + 1) * :per_chat - 1
SELECT id, chat_id, sender_id, content, reply_to, created_at, edited_at, deleted_at FROM messages
WHERE chat_id = :chat AND deleted_at IS NULL ORDER BY id DESC LIMIT 51;
SELECT message_id, user_id FROM mentions
WHERE message_id = ANY(ARRAY(SELECT generate_series(:top - 50, :top)::bigint)) ORDER BY message_id, user_id;
SELECT message_id, emoji, array_agg(user_id) AS users FROM reactions
WHERE message_id = ANY(ARRAY(SELECT generate_series(:top - 50, :top)::bigint))
GROUP BY message_id, emoji ORDER BY message_id, min(created_at), emoji;
";

/// The repository's keyset queries (`fechatter_server::repo::messages::page`): the first page,
/// and a page before a message.
pub const PGBENCH_FIRST_PAGE: &str = "\\set k random(0, :chats - 1)
\\set chat :first_chat + :k
SELECT id, chat_id, sender_id, content, reply_to, created_at, edited_at, deleted_at FROM messages
WHERE chat_id = :chat AND deleted_at IS NULL ORDER BY id DESC LIMIT 51;
";
pub const PGBENCH_PAGE_BEFORE: &str = "\\set k random(0, :chats - 1)
\\set chat :first_chat + :k
SELECT id, chat_id, sender_id, content, reply_to, created_at, edited_at, deleted_at
FROM messages WHERE chat_id = :chat AND deleted_at IS NULL AND id < :before ORDER BY id DESC LIMIT 51;
";
