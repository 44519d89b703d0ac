-- Deletes the rows of [dbo].[Sessions] that expired over 5m0s ago, 1000 at a time
-- (at most 4000, under the 5,000 locks at which SQL Server locks the whole
-- table), oldest first, each batch its own transaction, at low deadlock
-- priority, passing over rows an app session holds (READPAST). Run it in
-- sqlcmd or SSMS, outside a transaction. Each batch's plan on SQL Server:
--   Clustered Index Delete (the table and its Index_Expires)
--     Nested Loops (Inner Join)
--       Top (1000)
--         Index Seek on the Expires index, ORDERED FORWARD
--       Clustered Index Seek on the primary key, WHERE Expires < the cutoff
SET NOCOUNT ON;
SET DEADLOCK_PRIORITY LOW;
DECLARE @deleted int = 1000;
WHILE @deleted = 1000
BEGIN
    DELETE FROM [dbo].[Sessions] WITH (ROWLOCK, READPAST)
    WHERE [SessionId] IN (
        SELECT TOP (1000) [SessionId]
        FROM [dbo].[Sessions] WITH (ROWLOCK, READPAST)
        WHERE [Expires] < DATEADD(second, -300, GETUTCDATE())
        ORDER BY [Expires], [SessionId]
    ) AND [Expires] < DATEADD(second, -300, GETUTCDATE());
    SET @deleted = @@ROWCOUNT;
END;
GO
