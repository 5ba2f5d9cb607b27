-- Undoes 001_np_realtime_presence: the last-seen rows are gone for good.
-- 001 is the first migration, so the server's record of applied versions goes too; the next
-- start of the server creates both again.

DROP TABLE IF EXISTS np_realtime_presence;
DROP TABLE IF EXISTS np_realtime_schema_migrations;
