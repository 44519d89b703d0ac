CREATE NONCLUSTERED INDEX {{.ExpiryIndex}} ON {{.Table}} ([ExpiresAtTime]);
