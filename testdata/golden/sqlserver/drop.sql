SET XACT_ABORT ON;
BEGIN TRANSACTION;
DROP TABLE [dbo].[SessionData];
IF OBJECT_ID(N'[dbo].[SessionData_migrations]', N'U') IS NOT NULL
    DROP TABLE [dbo].[SessionData_migrations];
COMMIT TRANSACTION;
