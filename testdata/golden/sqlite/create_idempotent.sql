-- migration 1: 1_create_table.up.sql
-- sessctl's SQLite layout: the five columns, times as INTEGER microseconds
-- since the Unix epoch (UTC), STRICT so that SQLite keeps those types. A
-- table that is already there is kept as it is.
CREATE TABLE IF NOT EXISTS "main"."SessionData" (
    "Id" TEXT NOT NULL COLLATE BINARY PRIMARY KEY,
    "Value" BLOB NOT NULL,
    "ExpiresAtTime" INTEGER NOT NULL,
    "SlidingExpirationInSeconds" INTEGER,
    "AbsoluteExpiration" INTEGER
) STRICT;

-- migration 2: 2_create_expiry_index.up.sql
-- The index every purge batch reads. SQLite has nothing to guard it by what
-- it is, so sessctl does, holding the migration lock: create skips it when
-- a usable index (no WHERE clause, "ExpiresAtTime" its first key column)
-- is there under another name, and first drops an unusable index under
-- this name, which IF NOT EXISTS would take for the index.
CREATE INDEX IF NOT EXISTS "main"."SessionData_ExpiresAtTime_idx" ON "SessionData" ("ExpiresAtTime");

-- version 2: version.sql
-- Records the version as golang-migrate's sqlite driver does, in the same
-- table and row, so that `sessctl create` and `sessctl verify` find the
-- table current; a newer version is kept. It comes last: run the script
-- with sqlite3 -bail, so that a failed statement stops it first.
CREATE TABLE IF NOT EXISTS "main"."SessionData_migrations" (version uint64,dirty bool);
CREATE UNIQUE INDEX IF NOT EXISTS version_unique ON "SessionData_migrations" (version);
BEGIN IMMEDIATE;
DELETE FROM "main"."SessionData_migrations" WHERE version <= 2;
INSERT INTO "main"."SessionData_migrations" (version, dirty) SELECT 2, false WHERE NOT EXISTS (SELECT 1 FROM "main"."SessionData_migrations");
COMMIT;
