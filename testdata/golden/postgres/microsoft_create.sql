-- UNLOGGED: PostgreSQL writes no WAL for the table, so a crash or an unclean shutdown empties it (every session and cache entry is lost) and a replica has none of its rows, so it is empty after a failover; create it with --logged for a logged table (UseWAL = true).
CREATE UNLOGGED TABLE "public"."sessiondata" (
    id character varying(449) COLLATE "C" NOT NULL,
    value bytea NOT NULL,
    expiresattime timestamp with time zone NOT NULL,
    slidingexpirationinseconds bigint,
    absoluteexpiration timestamp with time zone,
    CONSTRAINT "sessiondata_pkey" PRIMARY KEY (id)
);
CREATE INDEX "ix_sessiondata_expiresattime" ON "public"."sessiondata" (expiresattime);
