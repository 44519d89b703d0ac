CREATE NONCLUSTERED INDEX {{.ExpiryIndex}} ON {{.Table}} ([Expires]);
