-- Records the version as golang-migrate's pgx driver does, in the same
-- table and row, so that `sessctl create` and `sessctl verify` find the
-- table current; a newer version is kept. It comes last: run the script
-- with psql -v ON_ERROR_STOP=1, so that a failed statement stops it first.
CREATE TABLE IF NOT EXISTS {{.VersionTable}} (version bigint not null primary key, dirty boolean not null);
BEGIN;
DELETE FROM {{.VersionTable}} WHERE version <= {{.Version}};
INSERT INTO {{.VersionTable}} (version, dirty) SELECT {{.Version}}, false WHERE NOT EXISTS (SELECT 1 FROM {{.VersionTable}});
COMMIT;
