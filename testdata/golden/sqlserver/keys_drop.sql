SET XACT_ABORT ON;
BEGIN TRANSACTION;
DROP TABLE [dbo].[DataProtectionKeys];
IF OBJECT_ID(N'[dbo].[DataProtectionKeys_migrations]', N'U') IS NOT NULL
    DROP TABLE [dbo].[DataProtectionKeys_migrations];
COMMIT TRANSACTION;
