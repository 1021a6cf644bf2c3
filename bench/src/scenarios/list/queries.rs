//! The list scenario's pgbench scripts: the same SQL as `fechatter_server::repo::messages`.

/// What `service::messages::list` asks Postgres for one page: one query for the page with the
/// mentions, reaction counts and file presence of its messages (`repo::messages::page`).
pub const PGBENCH_LIST_QUERIES: &str = "\\set k random(0, :chats - 1)
\\set chat :first_chat + :k
SELECT m.*,
ARRAY(SELECT user_id FROM mentions WHERE message_id = m.id ORDER BY user_id) AS mentions,
COALESCE(r.emojis, '{}') AS reaction_emojis, COALESCE(r.counts, '{}') AS reaction_counts,
COALESCE(r.mine, '{}') AS reaction_mine,
EXISTS (SELECT 1 FROM message_files WHERE message_id = m.id) AS has_files
FROM (SELECT id, chat_id, sender_id, content, reply_to, created_at, edited_at, deleted_at FROM messages
WHERE chat_id = :chat AND deleted_at IS NULL ORDER BY id DESC LIMIT 51) AS m
LEFT JOIN LATERAL (SELECT array_agg(emoji ORDER BY first, emoji) AS emojis,
array_agg(n ORDER BY first, emoji) AS counts, array_agg(me ORDER BY first, emoji) AS mine
FROM (SELECT emoji, count(*) AS n, bool_or(user_id = :viewer) AS me, min(created_at) AS first
FROM reactions WHERE message_id = m.id GROUP BY emoji) AS per_emoji) AS r ON true
ORDER BY m.id DESC;
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
