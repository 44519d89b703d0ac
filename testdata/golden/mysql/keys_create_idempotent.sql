-- migration 1: 1_create_table.up.sql
-- The table Pomelo's EF Core provider migrates for the Data Protection key
-- ring (PersistKeysToDbContext: DataProtectionKeys), column for column.
-- Pomelo names the primary key PK_<table>, which MySQL drops: every primary
-- key there is called PRIMARY. ENGINE=InnoDB, which Pomelo leaves to the
-- server's default, so that a key written is a key kept. A table that is
-- already there, made by an EF migration or by hand, is kept as it is, rows
-- and all. MySQL commits DDL on its own: this is one statement.
CREATE TABLE IF NOT EXISTS `app`.`DataProtectionKeys` (
    `Id` int NOT NULL AUTO_INCREMENT,
    `FriendlyName` longtext CHARACTER SET utf8mb4 NULL,
    `Xml` longtext CHARACTER SET utf8mb4 NULL,
    PRIMARY KEY (`Id`)
) ENGINE=InnoDB CHARACTER SET=utf8mb4;

-- version 1: version.sql
-- Records the version as golang-migrate's mysql driver does, in the same
-- table and row, so that `sessctl create` and `sessctl verify` find the
-- table current; a newer version is kept. It comes last: the mysql client
-- stops at a failed statement (unless --force) before it gets here.
CREATE TABLE IF NOT EXISTS `app`.`DataProtectionKeys_migrations` (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);
START TRANSACTION;
DELETE FROM `app`.`DataProtectionKeys_migrations` WHERE version <= 1;
INSERT INTO `app`.`DataProtectionKeys_migrations` (version, dirty) SELECT 1, false FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM `app`.`DataProtectionKeys_migrations`);
COMMIT;
