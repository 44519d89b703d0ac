-- The index every purge batch reads. sessctl renders this file as noop.sql
-- when the table already has an index on "ExpiresAtTime" under another name.
CREATE INDEX IF NOT EXISTS {{.ExpiryIndex}} ON {{.TableName}} ("ExpiresAtTime");
