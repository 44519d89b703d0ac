-- A version table left without its table: drop removes it.
DROP TABLE IF EXISTS {{.VersionTable}};
