-- Records the version as golang-migrate's mysql driver does, in the same
-- table and row, so that `sessctl create` and `sessctl verify` find the
-- table current; a newer version is kept. It comes last: the mysql client
-- stops at a failed statement (unless --force) before it gets here.
CREATE TABLE IF NOT EXISTS {{.VersionTable}} (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);
START TRANSACTION;
DELETE FROM {{.VersionTable}} WHERE version <= {{.Version}};
INSERT INTO {{.VersionTable}} (version, dirty) SELECT {{.Version}}, false FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM {{.VersionTable}});
COMMIT;
