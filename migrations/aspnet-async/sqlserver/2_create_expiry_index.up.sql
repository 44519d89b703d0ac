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
    WHERE i.object_id = OBJECT_ID({{.TableLiteral}}, N'U')
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
        WHERE i.object_id = OBJECT_ID({{.TableLiteral}}, N'U')
          AND i.name = {{.ExpiryIndexLiteral}}
          AND ic.key_ordinal = 1
          AND c.name = N'Expires'
    )
        DROP INDEX {{.ExpiryIndex}} ON {{.Table}};
    CREATE NONCLUSTERED INDEX {{.ExpiryIndex}} ON {{.Table}} ([Expires]);
END
COMMIT TRANSACTION;
