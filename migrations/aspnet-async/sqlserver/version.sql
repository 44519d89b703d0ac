-- Records the version as golang-migrate's sqlserver driver does, in the
-- same table and row, so that `sessctl create` and `sessctl verify` find
-- the table current; a newer version is kept. It comes last: run the
-- script with sqlcmd -b, so that a failed batch stops it first.
SET XACT_ABORT ON;
BEGIN TRANSACTION;
IF NOT EXISTS (SELECT * FROM sysobjects WHERE id = object_id({{.VersionTableLiteral}}) AND OBJECTPROPERTY(id, N'IsUserTable') = 1)
    CREATE TABLE {{.VersionTable}} ( version BIGINT PRIMARY KEY NOT NULL, dirty BIT NOT NULL );
DELETE FROM {{.VersionTable}} WHERE version <= {{.Version}};
INSERT INTO {{.VersionTable}} (version, dirty) SELECT {{.Version}}, 0 WHERE NOT EXISTS (SELECT 1 FROM {{.VersionTable}});
COMMIT TRANSACTION;
