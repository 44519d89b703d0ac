-- The index every purge batch reads, named as `dotnet sql-cache create`
-- names it. It is guarded by what it is, an index whose first key column is
-- ExpiresAtTime, not by its name, so a table that already has one under
-- another name does not get a second.
SET XACT_ABORT ON;
BEGIN TRANSACTION;
IF NOT EXISTS (
    SELECT 1
    FROM sys.indexes AS i
    JOIN sys.index_columns AS ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id
    JOIN sys.columns AS c ON c.object_id = ic.object_id AND c.column_id = ic.column_id
    WHERE i.object_id = OBJECT_ID({{.TableLiteral}}, N'U')
      AND ic.key_ordinal = 1
      AND c.name = N'ExpiresAtTime'
      AND i.has_filter = 0
      AND i.is_hypothetical = 0
)
    CREATE NONCLUSTERED INDEX {{.ExpiryIndex}} ON {{.Table}} ([ExpiresAtTime]);
COMMIT TRANSACTION;
