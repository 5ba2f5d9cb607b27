-- Migration: 001_np_realtime_presence
-- Plugin: realtime
-- Each user's last-seen status, one row per user and app, written by the server when the
-- user's connections or status change. Multi-app: source_account_id (REALTIME_SOURCE_ACCOUNT_ID).
--
-- The server applies this file itself at start (and with --migrate): it is compiled in, and
-- version 1 is recorded in np_realtime_schema_migrations. Applied migrations are never edited;
-- a change is a new file 002_*.sql. The SQLite twin is src/storage/migrations/sqlite/.

CREATE TABLE IF NOT EXISTS np_realtime_presence (
    source_account_id VARCHAR(128) NOT NULL DEFAULT 'primary',
    user_id           VARCHAR(255) NOT NULL,
    status            VARCHAR(16)  NOT NULL,
    last_seen_at      TIMESTAMPTZ  NOT NULL,
    connections       INTEGER      NOT NULL DEFAULT 0,
    updated_at        TIMESTAMPTZ  NOT NULL DEFAULT now(),
    PRIMARY KEY (source_account_id, user_id)
);
