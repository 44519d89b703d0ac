CREATE TABLE "public"."Sess""ion]Da`ta'; DROP TABLE y; --" (
    "Id" text COLLATE pg_catalog."default" NOT NULL,
    "Value" bytea NOT NULL,
    "ExpiresAtTime" timestamp with time zone NOT NULL,
    "SlidingExpirationInSeconds" double precision,
    "AbsoluteExpiration" timestamp with time zone,
    CONSTRAINT "Sess""ion]Da`ta'; DROP TABLE y; --_pkey" PRIMARY KEY ("Id")
);
CREATE INDEX "Sess""ion]Da`ta'; DROP TABLE y; --_ExpiresAtTime_idx" ON "public"."Sess""ion]Da`ta'; DROP TABLE y; --" ("ExpiresAtTime");
