CREATE INDEX {{.ExpiryIndex}} ON {{.Table}} (`ExpiresAtTime`);
