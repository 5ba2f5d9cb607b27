-- The SQLite twin of nself/migrations/001_np_realtime_presence.sql (same columns and keys).
-- SQLite has no TIMESTAMPTZ: times are UTC text of fixed width, 2026-11-27T20:32:40.123Z, so
-- text order is time order.

CREATE TABLE IF NOT EXISTS np_realtime_presence (
    source_account_id VARCHAR(128) NOT NULL DEFAULT 'primary',
    user_id           VARCHAR(255) NOT NULL,
    status            VARCHAR(16)  NOT NULL,
    last_seen_at      TEXT         NOT NULL,
    connections       INTEGER      NOT NULL DEFAULT 0,
    updated_at        TEXT         NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (source_account_id, user_id)
);
