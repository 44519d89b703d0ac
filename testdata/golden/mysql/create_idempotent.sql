-- migration 1: 1_create_table.up.sql
-- The table of Pomelo.Extensions.Caching.MySql, as `dotnet mysql-cache
-- create` makes it, with its primary key. MySQL commits every DDL statement
-- on its own, so each migration is one statement that is safe to run again:
-- a table that is already there, made by the provider or by hand, is kept
-- as it is. The expiry index is the next migration, so that such a table
-- gets it too.
CREATE TABLE IF NOT EXISTS `app`.`SessionData` (
    `Id` varchar(449) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    `AbsoluteExpiration` datetime(6) NULL,
    `ExpiresAtTime` datetime(6) NOT NULL,
    `SlidingExpirationInSeconds` bigint NULL,
    `Value` longblob NOT NULL,
    PRIMARY KEY (`Id`)
) ENGINE=InnoDB;

-- migration 2: 2_create_expiry_index.up.sql
-- The index every purge batch reads, guarded by what it is, not by its
-- name: it is made only when the table has no usable index whose first key
-- column is `ExpiresAtTime`: a B-tree that the optimizer may read, which
-- an INVISIBLE (MySQL 8) or IGNORED (MariaDB 10.6+) index is not. Which of
-- those two columns information_schema.STATISTICS has tells the servers
-- apart, so the guard is a statement prepared for the one there is. MySQL
-- has no CREATE INDEX IF NOT EXISTS (MariaDB has), so the guard then picks
-- the statement to prepare and run. That one statement is the only change,
-- so running this again converges.
SET @sessctl_visible = COALESCE((
        SELECT MAX(CASE COLUMN_NAME WHEN 'IS_VISIBLE' THEN ' AND IS_VISIBLE = ''YES''' ELSE ' AND IGNORED = ''NO''' END)
        FROM information_schema.COLUMNS
        WHERE TABLE_SCHEMA = 'information_schema' AND TABLE_NAME = 'STATISTICS'
          AND COLUMN_NAME IN ('IS_VISIBLE', 'IGNORED')), '');
SET @sessctl_usable = CONCAT(
    'SELECT COUNT(*) FROM information_schema.STATISTICS',
    ' WHERE TABLE_SCHEMA = @sessctl_schema AND TABLE_NAME = @sessctl_table',
    ' AND (@@lower_case_table_names <> 0',
    '      OR (TABLE_SCHEMA = @sessctl_schema COLLATE utf8mb4_bin AND TABLE_NAME = @sessctl_table COLLATE utf8mb4_bin))',
    ' AND SEQ_IN_INDEX = 1 AND COLUMN_NAME = ''ExpiresAtTime'' AND INDEX_TYPE = ''BTREE''', @sessctl_visible,
    ' INTO @sessctl_usable_indexes');
SET @sessctl_schema = _utf8mb4'app', @sessctl_table = _utf8mb4'SessionData';
PREPARE sessctl_usable FROM @sessctl_usable;
EXECUTE sessctl_usable;
DEALLOCATE PREPARE sessctl_usable;
SET @sessctl_expiry_index = IF(@sessctl_usable_indexes > 0,
    'DO 0',
    CONCAT('CREATE INDEX ', _utf8mb4'`Index_ExpiresAtTime`', ' ON ', _utf8mb4'`app`.`SessionData`', ' (`ExpiresAtTime`)'));
PREPARE sessctl_expiry_index FROM @sessctl_expiry_index;
EXECUTE sessctl_expiry_index;
DEALLOCATE PREPARE sessctl_expiry_index;

-- version 2: version.sql
-- Records the version as golang-migrate's mysql driver does, in the same
-- table and row, so that `sessctl create` and `sessctl verify` find the
-- table current; a newer version is kept. It comes last: the mysql client
-- stops at a failed statement (unless --force) before it gets here.
CREATE TABLE IF NOT EXISTS `app`.`SessionData_migrations` (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);
START TRANSACTION;
DELETE FROM `app`.`SessionData_migrations` WHERE version <= 2;
INSERT INTO `app`.`SessionData_migrations` (version, dirty) SELECT 2, false FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM `app`.`SessionData_migrations`);
COMMIT;
