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
IF OBJECT_ID({{.TableLiteral}}, N'U') IS NULL
    CREATE TABLE {{.Table}} (
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
