CREATE TABLE {{.Table}} (
    "Id" text COLLATE pg_catalog."default" NOT NULL,
    "Value" bytea NOT NULL,
    "ExpiresAtTime" timestamp with time zone NOT NULL,
    "SlidingExpirationInSeconds" double precision,
    "AbsoluteExpiration" timestamp with time zone,
    CONSTRAINT {{.PrimaryKey}} PRIMARY KEY ("Id")
);
CREATE INDEX {{.ExpiryIndex}} ON {{.Table}} ("ExpiresAtTime");
