-- The check and the drop in one transaction: the table lock waits for an
-- app's insert in flight to commit, and then none can add a key the drop
-- loses. A ring that holds a key throws, and nothing is dropped.
-- sessctl drop --force drops it without the check.
SET XACT_ABORT ON;
BEGIN TRANSACTION;
DECLARE @held int;
SELECT @held = COUNT(*) FROM [dbo].[DataProtectionKeys] WITH (TABLOCKX, HOLDLOCK);
IF @held > 0
    THROW 50000, N'sessctl: the key ring holds keys; drop refused, nothing was changed', 1;
DROP TABLE [dbo].[DataProtectionKeys];
IF OBJECT_ID(N'[dbo].[DataProtectionKeys_migrations]', N'U') IS NOT NULL
    DROP TABLE [dbo].[DataProtectionKeys_migrations];
COMMIT TRANSACTION;
