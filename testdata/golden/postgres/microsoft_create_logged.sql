CREATE TABLE "public"."sessiondata" (
    id character varying(449) COLLATE "C" NOT NULL,
    value bytea NOT NULL,
    expiresattime timestamp with time zone NOT NULL,
    slidingexpirationinseconds bigint,
    absoluteexpiration timestamp with time zone,
    CONSTRAINT "sessiondata_pkey" PRIMARY KEY (id)
);
CREATE INDEX "ix_sessiondata_expiresattime" ON "public"."sessiondata" (expiresattime);
