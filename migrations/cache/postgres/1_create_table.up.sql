-- The table of Community.Microsoft.Extensions.Caching.PostgreSql, with a
-- primary key named for this table and NOT NULL on "Value" and
-- "ExpiresAtTime". A table that is already there, made by the provider or
-- by hand, is kept as it is.
CREATE TABLE IF NOT EXISTS {{.Table}} (
    "Id" text COLLATE pg_catalog."default" NOT NULL,
    "Value" bytea NOT NULL,
    "ExpiresAtTime" timestamp with time zone NOT NULL,
    "SlidingExpirationInSeconds" double precision,
    "AbsoluteExpiration" timestamp with time zone,
    CONSTRAINT {{.PrimaryKey}} PRIMARY KEY ("Id")
);
