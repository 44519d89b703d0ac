-- The index every purge batch reads, built CONCURRENTLY so that the app
-- goes on writing to a populated table while it builds. CREATE INDEX
-- CONCURRENTLY cannot run in a transaction or a DO block, so this file is
-- that one statement, and sessctl guards it by what it is, not by its name:
-- holding the migration lock, create skips it when a usable index (a valid
-- B-tree without a predicate whose first key column is "ExpiresAtTime")
-- is there under any name, and first drops an unusable index under this
-- name, such as the invalid one a build that was cancelled leaves.
CREATE INDEX {{.Concurrently}} IF NOT EXISTS {{.ExpiryIndex}} ON {{.Table}} ("ExpiresAtTime");
