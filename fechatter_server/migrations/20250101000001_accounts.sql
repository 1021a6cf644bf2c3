-- Workspaces, users, invites and sign-in sessions.

CREATE TABLE workspaces (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- A user belongs to exactly one workspace. Assistant bots are users too (`is_bot`): they have no
-- email or password, and each workspace has at most one.
CREATE TABLE users (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id   BIGINT      NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    fullname       TEXT        NOT NULL,
    -- What `@handle` mentions match; unique within the workspace.
    handle         TEXT        NOT NULL,
    email          TEXT,
    password_hash  TEXT,
    is_bot         BOOLEAN     NOT NULL DEFAULT false,
    workspace_role TEXT        NOT NULL DEFAULT 'member'
        CHECK (workspace_role IN ('owner', 'admin', 'member')),
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (is_bot OR (email IS NOT NULL AND password_hash IS NOT NULL)),
    CHECK (handle ~ '^[a-z0-9][a-z0-9._-]{0,31}$')
);
-- Sign-in is by email alone, so emails are unique across workspaces.
CREATE UNIQUE INDEX users_email_key ON users (lower(email)) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX users_workspace_handle_key ON users (workspace_id, handle);
CREATE UNIQUE INDEX users_one_bot_per_workspace ON users (workspace_id) WHERE is_bot;
-- The workspace directory, paged by id.
CREATE INDEX users_workspace_id_idx ON users (workspace_id, id DESC);

-- Invite codes are credentials: only their SHA-256 is stored.
CREATE TABLE invites (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id BIGINT      NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    code_hash    BYTEA       NOT NULL UNIQUE,
    created_by   BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    max_uses     INTEGER     NOT NULL CHECK (max_uses > 0),
    uses         INTEGER     NOT NULL DEFAULT 0 CHECK (uses <= max_uses),
    expires_at   TIMESTAMPTZ NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- A sign-in session is a refresh-token family; its id is the `sid` claim of every access token issued
-- from it. Revoking it (sign-out, refresh-token reuse) ends the family and its access tokens. Services
-- that mint tokens for their own bot user insert a session row for them.
CREATE TABLE sessions (
    id         UUID PRIMARY KEY,
    user_id    BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at TIMESTAMPTZ
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

-- Refresh tokens are opaque and stored as SHA-256. Each is used once: refreshing marks it `rotated_at`
-- and issues the next one in the same session; presenting a rotated token again revokes the session.
CREATE TABLE refresh_tokens (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash BYTEA       NOT NULL UNIQUE,
    session_id UUID        NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    expires_at TIMESTAMPTZ NOT NULL,
    rotated_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);
