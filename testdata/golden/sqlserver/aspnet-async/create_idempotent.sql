-- migration 1: 1_create_table.up.sql
-- The table the async session state provider
-- (Microsoft.AspNet.SessionState.SqlSessionStateProviderAsync) makes itself,
-- column for column as its CreateSessionTableTemplate at HEAD writes it
-- (SessionId nvarchar(88): its IdLength), the table's name quoted. A table
-- that is already there, made by the provider or by hand (an older one's
-- SessionItemLong is image), is kept as it is. The index on Expires is
-- migration 2. One batch, one transaction: SET XACT_ABORT ON rolls it all
-- back on error.
SET XACT_ABORT ON;
BEGIN TRANSACTION;
IF OBJECT_ID(N'[dbo].[ASPNetSessionState]', N'U') IS NULL
    CREATE TABLE [dbo].[ASPNetSessionState] (
        [SessionId]         nvarchar(88)    NOT NULL PRIMARY KEY,
        [Created]           datetime        NOT NULL DEFAULT GETUTCDATE(),
        [Expires]           datetime        NOT NULL,
        [LockDate]          datetime        NOT NULL,
        [LockDateLocal]     datetime        NOT NULL,
        [LockCookie]        int             NOT NULL,
        [Timeout]           int             NOT NULL,
        [Locked]            bit             NOT NULL,
        [SessionItemLong]   varbinary(max)  NULL,
        [Flags]             int             NOT NULL DEFAULT 0
    );
COMMIT TRANSACTION;
GO

-- migration 2: 2_create_expiry_index.up.sql
-- The index every purge batch reads, named as the provider
-- names it (Index_Expires). It is guarded by what it is, not by its name: it is made only
-- when the table has no usable index whose first key column is
-- Expires, a B-tree (clustered or not) that is neither filtered,
-- disabled nor hypothetical. An unusable index under this name (disabled,
-- filtered, a hash index) is dropped first, in the same transaction.
SET XACT_ABORT ON;
BEGIN TRANSACTION;
IF NOT EXISTS (
    SELECT 1
    FROM sys.indexes AS i
    JOIN sys.index_columns AS ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id
    JOIN sys.columns AS c ON c.object_id = ic.object_id AND c.column_id = ic.column_id
    WHERE i.object_id = OBJECT_ID(N'[dbo].[ASPNetSessionState]', N'U')
      AND ic.key_ordinal = 1
      AND c.name = N'Expires'
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
        WHERE i.object_id = OBJECT_ID(N'[dbo].[ASPNetSessionState]', N'U')
          AND i.name = N'Index_Expires'
          AND ic.key_ordinal = 1
          AND c.name = N'Expires'
    )
        DROP INDEX [Index_Expires] ON [dbo].[ASPNetSessionState];
    CREATE NONCLUSTERED INDEX [Index_Expires] ON [dbo].[ASPNetSessionState] ([Expires]);
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
IF NOT EXISTS (SELECT * FROM sysobjects WHERE id = object_id(N'[dbo].[ASPNetSessionState_migrations]') AND OBJECTPROPERTY(id, N'IsUserTable') = 1)
    CREATE TABLE [dbo].[ASPNetSessionState_migrations] ( version BIGINT PRIMARY KEY NOT NULL, dirty BIT NOT NULL );
DELETE FROM [dbo].[ASPNetSessionState_migrations] WHERE version <= 2;
INSERT INTO [dbo].[ASPNetSessionState_migrations] (version, dirty) SELECT 2, 0 WHERE NOT EXISTS (SELECT 1 FROM [dbo].[ASPNetSessionState_migrations]);
COMMIT TRANSACTION;
GO
