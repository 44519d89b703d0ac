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
-- name: it is made only when no index of the table has `ExpiresAtTime` as
-- its first key column. MySQL has no CREATE INDEX IF NOT EXISTS (MariaDB
-- has), so the guard picks the statement to prepare and run. That one
-- statement is the only change, so running this again converges.
SET @sessctl_expiry_index = IF(EXISTS (
        SELECT 1 FROM information_schema.STATISTICS
        WHERE TABLE_SCHEMA = _utf8mb4'app' AND TABLE_NAME = _utf8mb4'SessionData'
          AND (@@lower_case_table_names <> 0
               OR (TABLE_SCHEMA = _utf8mb4'app' COLLATE utf8mb4_bin
                   AND TABLE_NAME = _utf8mb4'SessionData' COLLATE utf8mb4_bin))
          AND SEQ_IN_INDEX = 1 AND COLUMN_NAME = 'ExpiresAtTime'),
    'DO 0',
    CONCAT('CREATE INDEX ', _utf8mb4'`Index_ExpiresAtTime`', ' ON ', _utf8mb4'`app`.`SessionData`', ' (`ExpiresAtTime`)'));
PREPARE sessctl_expiry_index FROM @sessctl_expiry_index;
EXECUTE sessctl_expiry_index;
DEALLOCATE PREPARE sessctl_expiry_index;
