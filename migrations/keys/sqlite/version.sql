-- Records the version as golang-migrate's sqlite driver does, in the same
-- table and row, so that `sessctl create` and `sessctl verify` find the
-- table current; a newer version is kept. It comes last: run the script
-- with sqlite3 -bail, so that a failed statement stops it first.
CREATE TABLE IF NOT EXISTS {{.VersionTable}} (version uint64,dirty bool);
CREATE UNIQUE INDEX IF NOT EXISTS version_unique ON {{.VersionTableName}} (version);
BEGIN IMMEDIATE;
DELETE FROM {{.VersionTable}} WHERE version <= {{.Version}};
INSERT INTO {{.VersionTable}} (version, dirty) SELECT {{.Version}}, false WHERE NOT EXISTS (SELECT 1 FROM {{.VersionTable}});
COMMIT;
