CREATE TABLE "main"."SessionData" (
    "Id" TEXT NOT NULL COLLATE BINARY PRIMARY KEY,
    "Value" BLOB NOT NULL,
    "ExpiresAtTime" INTEGER NOT NULL,
    "SlidingExpirationInSeconds" INTEGER,
    "AbsoluteExpiration" INTEGER
) STRICT;
CREATE INDEX "main"."SessionData_ExpiresAtTime_idx" ON "SessionData" ("ExpiresAtTime");
