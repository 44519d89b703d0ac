-- migration 1: 1_create_table.up.sql
-- The table EF Core's SQLite provider migrates for the Data Protection key
-- ring (PersistKeysToDbContext: DataProtectionKeys), column for column, an
-- AUTOINCREMENT "Id" whose primary key is named PK_<table> as EF names it
-- (in SQLite a constraint's name is no object of its own). Not STRICT, as
-- EF makes it. A table that is already there, made by an EF migration or
-- by hand, is kept as it is, rows and all.
CREATE TABLE IF NOT EXISTS "main"."DataProtectionKeys" (
    "Id" INTEGER NOT NULL CONSTRAINT "PK_DataProtectionKeys" PRIMARY KEY AUTOINCREMENT,
    "FriendlyName" TEXT NULL,
    "Xml" TEXT NULL
);

-- version 1: version.sql
-- Records the version as golang-migrate's sqlite driver does, in the same
-- table and row, so that `sessctl create` and `sessctl verify` find the
-- table current; a newer version is kept. It comes last: run the script
-- with sqlite3 -bail, so that a failed statement stops it first.
CREATE TABLE IF NOT EXISTS "main"."DataProtectionKeys_migrations" (version uint64,dirty bool);
CREATE UNIQUE INDEX IF NOT EXISTS version_unique ON "DataProtectionKeys_migrations" (version);
BEGIN IMMEDIATE;
DELETE FROM "main"."DataProtectionKeys_migrations" WHERE version <= 1;
INSERT INTO "main"."DataProtectionKeys_migrations" (version, dirty) SELECT 1, false WHERE NOT EXISTS (SELECT 1 FROM "main"."DataProtectionKeys_migrations");
COMMIT;
