-- The index every purge batch reads. SQLite has nothing to guard it by what
-- it is, so sessctl does, holding the migration lock: create skips it when
-- a usable index (no WHERE clause, "ExpiresAtTime" its first key column)
-- is there under another name, and first drops an unusable index under
-- this name, which IF NOT EXISTS would take for the index.
CREATE INDEX IF NOT EXISTS {{.ExpiryIndex}} ON {{.TableName}} ("ExpiresAtTime");
