//! The prose of the generated environment table (`cargo run -p xtask -- env-doc`): the
//! variables, defaults and ranges come from what `Config::from` reads.

/// What each variable read here means, for the generated environment table of
/// `docs/development.md` (by name without the prefix).
pub const ENV_NOTES: &[(&str, &str)] = &[
    ("DATABASE_URL", "Postgres (a secret: never logged)"),
    ("DATABASE_MAX_CONNECTIONS", "the pool size"),
    (
        "ACCESS_TOKEN_TTL_SECONDS",
        "how long an access token is valid",
    ),
    (
        "REFRESH_TOKEN_TTL_SECONDS",
        "how long a refresh token is valid",
    ),
    (
        "SESSION_LIFETIME_DAYS",
        "a session ends this long after sign-in however often it is refreshed",
    ),
    (
        "SESSION_PRUNE_INTERVAL_SECONDS",
        "spent refresh tokens and ended sessions are deleted this often",
    ),
    (
        "SIGNIN_ATTEMPTS_PER_ACCOUNT_PER_HOUR",
        "per account from any number of addresses, besides the per-address limit",
    ),
    (
        "BOT_API_KEY",
        "≥ 32 bytes: the credential bot_server presents at `POST /api/bots/token`; unset = that route answers 401",
    ),
    (
        "ARGON2_MEMORY_KIB",
        "argon2id memory cost (with the next two, OWASP's minimum; tests lower them)",
    ),
    ("ARGON2_ITERATIONS", "argon2id passes"),
    ("ARGON2_PARALLELISM", "argon2id lanes"),
    (
        "ARGON2_MAX_WAITING",
        "password hashes waiting for a core; beyond it 503 `over_capacity`",
    ),
    ("MAX_MESSAGE_CHARS", "characters in a message"),
    (
        "MAX_CHAT_MEMBERS",
        "also the longest `members` list of a new chat",
    ),
    ("MAX_BODY_BYTES", "a request body (uploads aside)"),
    (
        "MAX_FILES_PER_MESSAGE",
        "a longer `files` list is a 422 `too_many_files` before any other work",
    ),
    (
        "MAX_REACTIONS_PER_MESSAGE",
        "distinct emojis; 422 `too_many_reactions`",
    ),
    ("MAX_PINS_PER_CHAT", "pinned messages; 422 `too_many_pins`"),
    (
        "CACHE_TTL_SECONDS",
        "changes invalidate every instance at once via NOTIFY, the TTL bounds staleness if a notification is lost",
    ),
    ("CACHE_MAX_ENTRIES", "per cache"),
    (
        "MAX_WEBHOOKS_PER_CHAT",
        "incoming and outgoing webhooks of a chat together; 422 `too_many_webhooks`",
    ),
    (
        "WEBHOOK_ALLOW_PRIVATE_ADDRESSES",
        "false: outgoing webhook URLs naming or resolving to loopback, private, link-local or other non-public addresses are refused; tests and single-host set-ups turn it on (`docs/webhooks.md`)",
    ),
    (
        "WEBHOOK_TIMEOUT_MS",
        "per outgoing webhook delivery attempt",
    ),
    (
        "WEBHOOK_MAX_ATTEMPTS",
        "attempts of an outgoing delivery, then it is `failed`",
    ),
    (
        "WEBHOOK_RETRY_BASE_MS",
        "the first retry's delay, doubling after each failed attempt",
    ),
    ("WEBHOOK_RETRY_MAX_MS", "the longest delay between attempts"),
    (
        "WEBHOOK_POLL_INTERVAL_MS",
        "how often the deliverer looks for due deliveries",
    ),
    (
        "WEBHOOK_CONCURRENCY",
        "outgoing delivery attempts at once per instance",
    ),
    (
        "RATE_LIMIT_WEBHOOK_PER_MINUTE",
        "messages per incoming webhook",
    ),
    (
        "PAGE_CACHE_MAX_BYTES",
        "bytes of message-list pages held in memory, 0 = no page cache; see `docs/runbook.md#scale`",
    ),
    (
        "PAGE_CACHE_TTL_SECONDS",
        "a page is read afresh at least this often even if no event said it changed",
    ),
    (
        "PAGE_CACHE_PAGES_PER_CHAT",
        "pages of one chat held at once (the newest and the next ones as readers scroll)",
    ),
    (
        "OUTBOX_POLL_INTERVAL_MS",
        "the relay also wakes, in-process, after every commit of its instance that wrote events",
    ),
    ("OUTBOX_BATCH_SIZE", "events the relay publishes per round"),
    (
        "SEND_BATCHES_AT_ONCE",
        "statements writing plain messages at once, each taking every send queued meanwhile",
    ),
    (
        "SEND_BATCH_MAX_SENDS",
        "plain messages one such statement writes at most",
    ),
    (
        "FILES_DIR",
        "relative to the working directory; compose: a named volume at /var/lib/fechatter/files",
    ),
    ("MAX_UPLOAD_BYTES", "one uploaded file"),
    (
        "UPLOAD_TIMEOUT_MS",
        "an upload's request deadline instead of `FECHATTER_REQUEST_TIMEOUT_MS`",
    ),
    (
        "UPLOAD_QUOTA_PER_USER_BYTES",
        "bytes of uploads a user keeps; beyond it 413 `quota_exceeded`",
    ),
    (
        "UPLOAD_QUOTA_PER_WORKSPACE_BYTES",
        "bytes of uploads a workspace keeps; beyond it 413 `quota_exceeded`",
    ),
    (
        "FILES_SWEEP_INTERVAL_SECONDS",
        "how often forgotten uploads are swept",
    ),
    (
        "FILES_ORPHAN_GRACE_SECONDS",
        "an upload no live message has referenced for this long is forgotten and its unshared bytes deleted",
    ),
    (
        "FILES_TEMP_MAX_AGE_SECONDS",
        "leftover temporary upload files older than this are deleted; must exceed the upload timeout",
    ),
    (
        "RATE_LIMIT_AUTH_PER_MINUTE",
        "per client IP for each of sign-up, sign-in and refresh; every rate limit is a bucket refilled evenly over a minute",
    ),
    (
        "RATE_LIMIT_SEND_PER_MINUTE",
        "per user, HTTP and WebSocket together",
    ),
    (
        "RATE_LIMIT_BOT_SEND_PER_MINUTE",
        "per workspace bot, in place of the people's limit: its answers",
    ),
    ("RATE_LIMIT_UPLOAD_PER_MINUTE", "per user"),
    ("RATE_LIMIT_SEARCH_PER_MINUTE", "per user"),
    (
        "RATE_LIMIT_REACT_PER_MINUTE",
        "per user, adding and removing reactions",
    ),
    (
        "RATE_LIMIT_EDIT_PER_MINUTE",
        "per user, message edits, chat renames, pins, unpins and status changes together",
    ),
    (
        "RATE_LIMIT_DELETE_PER_MINUTE",
        "per user, message and chat deletions together",
    ),
    ("RATE_LIMIT_CREATE_CHAT_PER_MINUTE", "per user"),
    (
        "RATE_LIMIT_MEMBERS_PER_MINUTE",
        "per user, members added or removed, channels joined or left",
    ),
    ("RATE_LIMIT_INVITE_PER_MINUTE", "per user"),
    (
        "TRUSTED_PROXY_HOPS",
        "the client IP is the peer address and `X-Forwarded-For` is ignored, since clients can forge it; set it to the number of reverse proxies in front that append to it, and the client is that many entries from the right",
    ),
    (
        "WS_MAX_CONNECTIONS_PER_USER",
        "sockets per user on one instance; beyond it the upgrade is refused with 429 `too_many_connections`",
    ),
    (
        "WS_RING_EVENTS",
        "recent events kept in memory for resuming sockets",
    ),
    (
        "WS_REPLAY_MAX_EVENTS",
        "of the user's own missed events, else `resync` `too_many`",
    ),
    (
        "WS_REPLAY_MAX_SCAN",
        "stream events behind, else `resync` `too_many`",
    ),
    ("WS_REPLAY_MAX_AGE_SECONDS", "else `resync` `too_old`"),
    ("WS_REPLAY_CONCURRENCY", "resumes reading JetStream at once"),
    (
        "WS_BUFFER",
        "frames queued per connection; a connection whose queue fills is cut off",
    ),
    (
        "WS_PING_INTERVAL_MS",
        "a client silent for two intervals is dropped",
    ),
    (
        "WS_WRITE_TIMEOUT_MS",
        "a frame not written by then cuts the connection off",
    ),
    (
        "WS_MAX_MESSAGE_BYTES",
        "the largest frame a client may send",
    ),
    (
        "TYPING_THROTTLE_MS",
        "one typing signal per user and chat per interval, WebSocket and `POST /api/chats/{id}/typing` each, 0 = no throttle",
    ),
    (
        "SEARCH_HYBRID",
        "re-rank search matches by embedding similarity, see `docs/search.md`",
    ),
    (
        "SEARCH_EMBEDDING_DIMENSIONS",
        "must equal `BOT_EMBEDDING_DIMENSIONS`",
    ),
    (
        "WEB_DIR",
        "unset: no client; the built `web/dist`, served for every path outside `/api`; start-up fails without an `index.html` there",
    ),
    (
        "WEB_NOTIFY_URL",
        "unset: the page's host on 6689; the base URL a browser reaches notify at, given to the client in `/client-config.json`",
    ),
    (
        "WEB_ANALYTICS_URL",
        "unset: the page's host on 7777; the base URL a browser reaches analytics at, given to the client in `/client-config.json`",
    ),
];
