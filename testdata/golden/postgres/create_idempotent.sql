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
-- The index every purge batch reads. It is guarded by what it is, an index
-- whose first key column is "ExpiresAtTime", not by its name, so a table
-- that already has one under another name does not get a second.
DO $sessctl$
BEGIN
    IF NOT EXISTS (
        SELECT 1
        FROM pg_catalog.pg_index x
        JOIN pg_catalog.pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0]
        WHERE x.indrelid = E'"public"."SessionData"'::regclass
          AND a.attname = 'ExpiresAtTime'
          AND x.indpred IS NULL
    ) THEN
        CREATE INDEX "SessionData_ExpiresAtTime_idx" ON "public"."SessionData" ("ExpiresAtTime");
    END IF;
END
$sessctl$;
