CREATE TABLE {{.Table}} (
    "Id" TEXT NOT NULL COLLATE BINARY PRIMARY KEY,
    "Value" BLOB NOT NULL,
    "ExpiresAtTime" INTEGER NOT NULL,
    "SlidingExpirationInSeconds" INTEGER,
    "AbsoluteExpiration" INTEGER
) STRICT;
CREATE INDEX {{.ExpiryIndex}} ON {{.TableName}} ("ExpiresAtTime");
