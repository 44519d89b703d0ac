SET XACT_ABORT ON;
BEGIN TRANSACTION;
DROP TABLE [dbo].[Sessions];
IF OBJECT_ID(N'[dbo].[Sessions_migrations]', N'U') IS NOT NULL
    DROP TABLE [dbo].[Sessions_migrations];
COMMIT TRANSACTION;
