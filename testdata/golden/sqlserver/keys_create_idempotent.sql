-- migration 1: 1_create_table.up.sql
-- The table EF Core's SQL Server provider migrates for the Data Protection
-- key ring (PersistKeysToDbContext: DataProtectionKeys), column for column,
-- its primary key named PK_<table> as EF names it. A table that is already
-- there, made by an EF migration or by hand, is kept as it is, rows and all.
-- One batch, one transaction: SET XACT_ABORT ON rolls it all back on error.
SET XACT_ABORT ON;
BEGIN TRANSACTION;
IF OBJECT_ID(N'[dbo].[DataProtectionKeys]', N'U') IS NULL
    CREATE TABLE [dbo].[DataProtectionKeys] (
        [Id] int NOT NULL IDENTITY,
        [FriendlyName] nvarchar(max) NULL,
        [Xml] nvarchar(max) NULL,
        CONSTRAINT [PK_DataProtectionKeys] PRIMARY KEY ([Id])
    );
COMMIT TRANSACTION;
GO

-- version 1: version.sql
-- Records the version as golang-migrate's sqlserver driver does, in the
-- same table and row, so that `sessctl create` and `sessctl verify` find
-- the table current; a newer version is kept. It comes last: run the
-- script with sqlcmd -b, so that a failed batch stops it first.
SET XACT_ABORT ON;
BEGIN TRANSACTION;
IF NOT EXISTS (SELECT * FROM sysobjects WHERE id = object_id(N'[dbo].[DataProtectionKeys_migrations]') AND OBJECTPROPERTY(id, N'IsUserTable') = 1)
    CREATE TABLE [dbo].[DataProtectionKeys_migrations] ( version BIGINT PRIMARY KEY NOT NULL, dirty BIT NOT NULL );
DELETE FROM [dbo].[DataProtectionKeys_migrations] WHERE version <= 1;
INSERT INTO [dbo].[DataProtectionKeys_migrations] (version, dirty) SELECT 1, 0 WHERE NOT EXISTS (SELECT 1 FROM [dbo].[DataProtectionKeys_migrations]);
COMMIT TRANSACTION;
GO
