SET XACT_ABORT ON;
BEGIN TRANSACTION;
DROP TABLE [dbo].[ASPNetSessionState];
IF OBJECT_ID(N'[dbo].[ASPNetSessionState_migrations]', N'U') IS NOT NULL
    DROP TABLE [dbo].[ASPNetSessionState_migrations];
COMMIT TRANSACTION;
