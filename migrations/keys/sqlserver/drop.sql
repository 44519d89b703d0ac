-- The check and the drop in one transaction: the table lock waits for an
-- app's insert in flight to commit, and then none can add a key the drop
-- loses. A ring that holds a key throws, and nothing is dropped.
-- sessctl drop --force drops it without the check.
SET XACT_ABORT ON;
BEGIN TRANSACTION;
DECLARE @held int;
SELECT @held = COUNT(*) FROM {{.Table}} WITH (TABLOCKX, HOLDLOCK);
IF @held > 0
    THROW 50000, N'sessctl: the key ring holds keys; drop refused, nothing was changed', 1;
DROP TABLE {{.Table}};
IF OBJECT_ID({{.VersionTableLiteral}}, N'U') IS NOT NULL
    DROP TABLE {{.VersionTable}};
COMMIT TRANSACTION;
