-- Sessions end at a fixed time after sign-in (FECHATTER_SESSION_LIFETIME_DAYS) and are pruned once
-- ended; a removed account keeps its row (messages and chats name it) but loses its credentials.

ALTER TABLE users ADD COLUMN removed_at TIMESTAMPTZ;
-- A removed account has no email or password any more (its email may sign up again).
ALTER TABLE users DROP CONSTRAINT users_check;
ALTER TABLE users ADD CONSTRAINT users_credentials_check
    CHECK (is_bot OR removed_at IS NOT NULL OR (email IS NOT NULL AND password_hash IS NOT NULL));

-- What the prune deletes: sessions by age or revocation, refresh tokens by expiry.
CREATE INDEX sessions_created_at_idx ON sessions (created_at);
CREATE INDEX sessions_revoked_at_idx ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX refresh_tokens_expires_at_idx ON refresh_tokens (expires_at);
