-- The index every purge batch reads. It is guarded by what it is, an index
-- whose first key column is "ExpiresAtTime", not by its name, so a table
-- that already has one under another name does not get a second.
DO {{.Tag}}
BEGIN
    IF NOT EXISTS (
        SELECT 1
        FROM pg_catalog.pg_index x
        JOIN pg_catalog.pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0]
        WHERE x.indrelid = {{.TableLiteral}}::regclass
          AND a.attname = 'ExpiresAtTime'
          AND x.indpred IS NULL
    ) THEN
        CREATE INDEX {{.ExpiryIndex}} ON {{.Table}} ("ExpiresAtTime");
    END IF;
END
{{.Tag}};
