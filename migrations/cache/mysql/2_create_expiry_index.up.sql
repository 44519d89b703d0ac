-- The index every purge batch reads, guarded by what it is, not by its
-- name: it is made only when the table has no usable index whose first key
-- column is `ExpiresAtTime`: a B-tree that the optimizer may read, which
-- an INVISIBLE (MySQL 8) or IGNORED (MariaDB 10.6+) index is not. Which of
-- those two columns information_schema.STATISTICS has tells the servers
-- apart, so the guard is a statement prepared for the one there is. MySQL
-- has no CREATE INDEX IF NOT EXISTS (MariaDB has), so the guard then picks
-- the statement to prepare and run. That one statement is the only change,
-- so running this again converges.
SET @sessctl_visible = COALESCE((
        SELECT MAX(CASE COLUMN_NAME WHEN 'IS_VISIBLE' THEN ' AND IS_VISIBLE = ''YES''' ELSE ' AND IGNORED = ''NO''' END)
        FROM information_schema.COLUMNS
        WHERE TABLE_SCHEMA = 'information_schema' AND TABLE_NAME = 'STATISTICS'
          AND COLUMN_NAME IN ('IS_VISIBLE', 'IGNORED')), '');
SET @sessctl_usable = CONCAT(
    'SELECT COUNT(*) FROM information_schema.STATISTICS',
    ' WHERE TABLE_SCHEMA = @sessctl_schema AND TABLE_NAME = @sessctl_table',
    ' AND (@@lower_case_table_names <> 0',
    '      OR (TABLE_SCHEMA = @sessctl_schema COLLATE utf8mb4_bin AND TABLE_NAME = @sessctl_table COLLATE utf8mb4_bin))',
    ' AND SEQ_IN_INDEX = 1 AND COLUMN_NAME = ''ExpiresAtTime'' AND INDEX_TYPE = ''BTREE''', @sessctl_visible,
    ' INTO @sessctl_usable_indexes');
SET @sessctl_schema = {{.SchemaLiteral}}, @sessctl_table = {{.TableLiteral}};
PREPARE sessctl_usable FROM @sessctl_usable;
EXECUTE sessctl_usable;
DEALLOCATE PREPARE sessctl_usable;
SET @sessctl_expiry_index = IF(@sessctl_usable_indexes > 0,
    'DO 0',
    CONCAT('CREATE INDEX ', {{.ExpiryIndexText}}, ' ON ', {{.TableText}}, ' (`ExpiresAtTime`)'));
PREPARE sessctl_expiry_index FROM @sessctl_expiry_index;
EXECUTE sessctl_expiry_index;
DEALLOCATE PREPARE sessctl_expiry_index;
