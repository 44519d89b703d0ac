-- migration 1: 1_create_table.up.sql
-- The table of Community.Microsoft.Extensions.Caching.PostgreSql, with a
-- primary key named for this table and NOT NULL on "Value" and
-- "ExpiresAtTime". A table that is already there, made by the provider or
-- by hand, is kept as it is.
CREATE TABLE IF NOT EXISTS "public"."SessionData" (
    "Id" text COLLATE pg_catalog."default" NOT NULL,
    "Value" bytea NOT NULL,
    "ExpiresAtTime" timestamp with time zone NOT NULL,
    "SlidingExpirationInSeconds" double precision,
    "AbsoluteExpiration" timestamp with time zone,
    CONSTRAINT "SessionData_pkey" PRIMARY KEY ("Id")
);

-- migration 2: 2_create_expiry_index.up.sql
-- In this script the index is built with a plain CREATE INDEX, which holds
-- off the app's writes to the table while it builds: PostgreSQL refuses
-- CONCURRENTLY on a partitioned table, and a script cannot tell whether the
-- table is one. On a plain table that holds rows, a DBA may write
-- CREATE INDEX CONCURRENTLY instead (run outside a transaction block), as
-- sessctl create does.
-- The index every purge batch reads, built CONCURRENTLY so that the app
-- goes on writing to a populated table while it builds. CREATE INDEX
-- CONCURRENTLY cannot run in a transaction or a DO block, so this file is
-- that one statement, and sessctl guards it by what it is, not by its name:
-- holding the migration lock, create skips it when a usable index (a valid
-- B-tree without a predicate whose first key column is "ExpiresAtTime")
-- is there under any name, and first drops an unusable index under this
-- name, such as the invalid one a build that was cancelled leaves.
CREATE INDEX  IF NOT EXISTS "SessionData_ExpiresAtTime_idx" ON "public"."SessionData" ("ExpiresAtTime");

-- version 2: version.sql
-- Records the version as golang-migrate's pgx driver does, in the same
-- table and row, so that `sessctl create` and `sessctl verify` find the
-- table current; a newer version is kept. It comes last: run the script
-- with psql -v ON_ERROR_STOP=1, so that a failed statement stops it first.
CREATE TABLE IF NOT EXISTS "public"."SessionData_migrations" (version bigint not null primary key, dirty boolean not null);
BEGIN;
DELETE FROM "public"."SessionData_migrations" WHERE version <= 2;
INSERT INTO "public"."SessionData_migrations" (version, dirty) SELECT 2, false WHERE NOT EXISTS (SELECT 1 FROM "public"."SessionData_migrations");
COMMIT;
