CREATE INDEX IF NOT EXISTS {{.ExpiryIndex}} ON {{.TableName}} ("ExpiresAtTime");
