CREATE TABLE "public"."SessionData" (
    "Id" text COLLATE pg_catalog."default" NOT NULL,
    "Value" bytea NOT NULL,
    "ExpiresAtTime" timestamp with time zone NOT NULL,
    "SlidingExpirationInSeconds" double precision,
    "AbsoluteExpiration" timestamp with time zone,
    CONSTRAINT "SessionData_pkey" PRIMARY KEY ("Id")
);
CREATE INDEX "SessionData_ExpiresAtTime_idx" ON "public"."SessionData" ("ExpiresAtTime");
