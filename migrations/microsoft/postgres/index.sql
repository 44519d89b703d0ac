CREATE INDEX {{.Concurrently}} IF NOT EXISTS {{.ExpiryIndex}} ON {{.Table}} (expiresattime);
