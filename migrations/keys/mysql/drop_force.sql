-- One statement, since MySQL commits every DDL statement on its own: the
-- table and its version table go together (on MySQL 8, all or nothing).
DROP TABLE IF EXISTS {{.Table}}, {{.VersionTable}};
