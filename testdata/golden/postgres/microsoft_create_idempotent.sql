-- migration 1: 1_create_table.up.sql
-- The table of Microsoft.Extensions.Caching.Postgres, as its own DDL
-- makes it (SqlQueries.cs), with its primary key named as PostgreSQL names
-- the package's (TABLE_pkey). It is UNLOGGED unless create was
-- given --logged, the package's UseWAL = true. A table that is already
-- there, made by the package or by hand, is kept as it is.
-- UNLOGGED: PostgreSQL writes no WAL for the table, so a crash or an unclean shutdown empties it (every session and cache entry is lost) and a replica has none of its rows, so it is empty after a failover; create it with --logged for a logged table (UseWAL = true).
CREATE UNLOGGED TABLE IF NOT EXISTS "public"."sessiondata" (
    id character varying(449) COLLATE "C" NOT NULL,
    value bytea NOT NULL,
    expiresattime timestamp with time zone NOT NULL,
    slidingexpirationinseconds bigint,
    absoluteexpiration timestamp with time zone,
    CONSTRAINT "sessiondata_pkey" PRIMARY KEY (id)
);

-- migration 2: 2_create_expiry_index.up.sql
-- In this script the index is built with a plain CREATE INDEX, which holds
-- off the app's writes to the table while it builds: PostgreSQL refuses
-- CONCURRENTLY on a partitioned table, and a script cannot tell whether the
-- table is one. On a plain table that holds rows, a DBA may write
-- CREATE INDEX CONCURRENTLY instead (run outside a transaction block), as
-- sessctl create does.
-- The index every purge batch reads and the package's own "delete
-- expired" uses, named for its table: the package's ix_expiresattime is one
-- name per schema. Built CONCURRENTLY, which cannot run in a transaction,
-- so this file is that one statement; create skips it when a usable index
-- on expiresattime (the package's ix_expiresattime too) is there. The
-- package adds WITH (deduplicate_items=True), which is a B-tree's default
-- from PostgreSQL 13 on and an error before it: left out.
CREATE INDEX  IF NOT EXISTS "ix_sessiondata_expiresattime" ON "public"."sessiondata" (expiresattime);

-- version 2: version.sql
-- Records the version as golang-migrate's pgx driver does, in the same
-- table and row, so that `sessctl create` and `sessctl verify` find the
-- table current; a newer version is kept. It comes last: run the script
-- with psql -v ON_ERROR_STOP=1, so that a failed statement stops it first.
CREATE TABLE IF NOT EXISTS "public"."sessiondata_migrations" (version bigint not null primary key, dirty boolean not null);
BEGIN;
DELETE FROM "public"."sessiondata_migrations" WHERE version <= 2;
INSERT INTO "public"."sessiondata_migrations" (version, dirty) SELECT 2, false WHERE NOT EXISTS (SELECT 1 FROM "public"."sessiondata_migrations");
COMMIT;
