CREATE TABLE "main"."Sess""ion]Da`ta'; DROP TABLE y; --" (
    "Id" TEXT NOT NULL COLLATE BINARY PRIMARY KEY,
    "Value" BLOB NOT NULL,
    "ExpiresAtTime" INTEGER NOT NULL,
    "SlidingExpirationInSeconds" INTEGER,
    "AbsoluteExpiration" INTEGER
) STRICT;
CREATE INDEX "main"."Sess""ion]Da`ta'; DROP TABLE y; --_ExpiresAtTime_idx" ON "Sess""ion]Da`ta'; DROP TABLE y; --" ("ExpiresAtTime");
