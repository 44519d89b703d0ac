-- The index every purge batch reads, guarded by what it is, not by its
-- name: it is made only when no index of the table has `ExpiresAtTime` as
-- its first key column. MySQL has no CREATE INDEX IF NOT EXISTS (MariaDB
-- has), so the guard picks the statement to prepare and run. That one
-- statement is the only change, so running this again converges.
SET @sessctl_expiry_index = IF(EXISTS (
        SELECT 1 FROM information_schema.STATISTICS
        WHERE TABLE_SCHEMA = {{.SchemaLiteral}} AND TABLE_NAME = {{.TableLiteral}}
          AND (@@lower_case_table_names <> 0
               OR (TABLE_SCHEMA = {{.SchemaLiteral}} COLLATE utf8mb4_bin
                   AND TABLE_NAME = {{.TableLiteral}} COLLATE utf8mb4_bin))
          AND SEQ_IN_INDEX = 1 AND COLUMN_NAME = 'ExpiresAtTime'),
    'DO 0',
    CONCAT('CREATE INDEX ', {{.ExpiryIndexText}}, ' ON ', {{.TableText}}, ' (`ExpiresAtTime`)'));
PREPARE sessctl_expiry_index FROM @sessctl_expiry_index;
EXECUTE sessctl_expiry_index;
DEALLOCATE PREPARE sessctl_expiry_index;
