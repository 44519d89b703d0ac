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
-- The index every purge batch reads. sessctl renders this file as noop.sql
-- when the table already has an index on "ExpiresAtTime" under another name.
CREATE INDEX IF NOT EXISTS "main"."SessionData_ExpiresAtTime_idx" ON "SessionData" ("ExpiresAtTime");
