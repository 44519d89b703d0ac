-- Deletes the rows of [dbo].[SessionData] that expired over 5m0s ago, 1000 at a time
-- (at most 4000, under the 5,000 locks at which SQL Server locks the whole
-- table), oldest first, each batch its own transaction, at low deadlock
-- priority. Run it in sqlcmd or SSMS, outside a transaction.
SET NOCOUNT ON;
SET DEADLOCK_PRIORITY LOW;
DECLARE @deleted int = 1000;
WHILE @deleted = 1000
BEGIN
    DELETE expired
    FROM (
        SELECT TOP (1000) [Id]
        FROM [dbo].[SessionData] WITH (ROWLOCK, READPAST)
        WHERE [ExpiresAtTime] < DATEADD(second, -300, SYSDATETIMEOFFSET())
        ORDER BY [ExpiresAtTime]
    ) AS expired;
    SET @deleted = @@ROWCOUNT;
END;
GO
