-- A user's status: away or do-not-disturb, and/or a custom text, until an optional expiry. No row,
-- or an expired one, means no status; expiry is applied when read, so nothing has to sweep it.

CREATE TABLE user_statuses (
    user_id      BIGINT      PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    availability TEXT        NOT NULL CHECK (availability IN ('active', 'away', 'dnd')),
    text         TEXT,
    expires_at   TIMESTAMPTZ,
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
