-- The index every purge batch reads and the package's own "delete
-- expired" uses, named for its table: the package's ix_expiresattime is one
-- name per schema. Built CONCURRENTLY, which cannot run in a transaction,
-- so this file is that one statement; create skips it when a usable index
-- on expiresattime (the package's ix_expiresattime too) is there. The
-- package adds WITH (deduplicate_items=True), which is a B-tree's default
-- from PostgreSQL 13 on and an error before it: left out.
CREATE INDEX {{.Concurrently}} IF NOT EXISTS {{.ExpiryIndex}} ON {{.Table}} (expiresattime);
