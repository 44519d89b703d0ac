-- migration 1: 1_create_table.up.sql
-- The table `dotnet sql-cache create` makes, column for column: the runtime
-- of Microsoft.Extensions.Caching.SqlServer relies on these types, on the
-- 449 characters and case-sensitive collation of Id, and SQL Server names
-- the primary key itself, as it does for the dotnet tool. A table that is
-- already there, made by the dotnet tool or by hand, is kept as it is.
-- One batch, one transaction: SET XACT_ABORT ON rolls it all back on error.
SET XACT_ABORT ON;
BEGIN TRANSACTION;
IF OBJECT_ID(N'[dbo].[SessionData]', N'U') IS NULL
    CREATE TABLE [dbo].[SessionData] (
        [Id] nvarchar(449) COLLATE SQL_Latin1_General_CP1_CS_AS NOT NULL,
        [Value] varbinary(max) NOT NULL,
        [ExpiresAtTime] datetimeoffset NOT NULL,
        [SlidingExpirationInSeconds] bigint NULL,
        [AbsoluteExpiration] datetimeoffset NULL,
        PRIMARY KEY ([Id])
    );
COMMIT TRANSACTION;
GO

-- migration 2: 2_create_expiry_index.up.sql
-- The index every purge batch reads, named as `dotnet sql-cache create`
-- names it. It is guarded by what it is, not by its name: it is made only
-- when the table has no usable index whose first key column is
-- ExpiresAtTime, a B-tree (clustered or not) that is neither filtered,
-- disabled nor hypothetical. An unusable index under this name (disabled,
-- filtered, a hash index) is dropped first, in the same transaction.
SET XACT_ABORT ON;
BEGIN TRANSACTION;
IF NOT EXISTS (
    SELECT 1
    FROM sys.indexes AS i
    JOIN sys.index_columns AS ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id
    JOIN sys.columns AS c ON c.object_id = ic.object_id AND c.column_id = ic.column_id
    WHERE i.object_id = OBJECT_ID(N'[dbo].[SessionData]', N'U')
      AND ic.key_ordinal = 1
      AND c.name = N'ExpiresAtTime'
      AND i.type IN (1, 2)
      AND i.has_filter = 0
      AND i.is_disabled = 0
      AND i.is_hypothetical = 0
)
BEGIN
    IF EXISTS (
        SELECT 1
        FROM sys.indexes AS i
        JOIN sys.index_columns AS ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id
        JOIN sys.columns AS c ON c.object_id = ic.object_id AND c.column_id = ic.column_id
        WHERE i.object_id = OBJECT_ID(N'[dbo].[SessionData]', N'U')
          AND i.name = N'Index_ExpiresAtTime'
          AND ic.key_ordinal = 1
          AND c.name = N'ExpiresAtTime'
    )
        DROP INDEX [Index_ExpiresAtTime] ON [dbo].[SessionData];
    CREATE NONCLUSTERED INDEX [Index_ExpiresAtTime] ON [dbo].[SessionData] ([ExpiresAtTime]);
END
COMMIT TRANSACTION;
GO

-- version 2: version.sql
-- Records the version as golang-migrate's sqlserver driver does, in the
-- same table and row, so that `sessctl create` and `sessctl verify` find
-- the table current; a newer version is kept. It comes last: run the
-- script with sqlcmd -b, so that a failed batch stops it first.
SET XACT_ABORT ON;
BEGIN TRANSACTION;
IF NOT EXISTS (SELECT * FROM sysobjects WHERE id = object_id(N'[dbo].[SessionData_migrations]') AND OBJECTPROPERTY(id, N'IsUserTable') = 1)
    CREATE TABLE [dbo].[SessionData_migrations] ( version BIGINT PRIMARY KEY NOT NULL, dirty BIT NOT NULL );
DELETE FROM [dbo].[SessionData_migrations] WHERE version <= 2;
INSERT INTO [dbo].[SessionData_migrations] (version, dirty) SELECT 2, 0 WHERE NOT EXISTS (SELECT 1 FROM [dbo].[SessionData_migrations]);
COMMIT TRANSACTION;
GO
