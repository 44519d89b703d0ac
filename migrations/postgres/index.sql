CREATE INDEX CONCURRENTLY IF NOT EXISTS {{.ExpiryIndex}} ON {{.Table}} ("ExpiresAtTime");
