-- sessctl's SQLite layout: the five columns, times as INTEGER microseconds
-- since the Unix epoch (UTC), STRICT so that SQLite keeps those types. A
-- table that is already there is kept as it is.
CREATE TABLE IF NOT EXISTS {{.Table}} (
    "Id" TEXT NOT NULL COLLATE BINARY PRIMARY KEY,
    "Value" BLOB NOT NULL,
    "ExpiresAtTime" INTEGER NOT NULL,
    "SlidingExpirationInSeconds" INTEGER,
    "AbsoluteExpiration" INTEGER
) STRICT;
