-- The table of Pomelo.Extensions.Caching.MySql, as `dotnet mysql-cache
-- create` makes it, with its primary key. MySQL commits every DDL statement
-- on its own, so each migration is one statement that is safe to run again:
-- a table that is already there, made by the provider or by hand, is kept
-- as it is. The expiry index is the next migration, so that such a table
-- gets it too.
CREATE TABLE IF NOT EXISTS {{.Table}} (
    `Id` varchar(449) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    `AbsoluteExpiration` datetime(6) NULL,
    `ExpiresAtTime` datetime(6) NOT NULL,
    `SlidingExpirationInSeconds` bigint NULL,
    `Value` longblob NOT NULL,
    PRIMARY KEY (`Id`)
) ENGINE=InnoDB;
