-- DDL commits on its own, so the table is locked instead: the WRITE lock
-- waits for an app's insert in flight to commit, and then none can add a
-- key between the check and the drop. A ring that holds a key fails the
-- check (a subquery of two rows, error 1242), and nothing is dropped; the
-- mysql client stops there, and its lock goes with its session.
-- The version table is dropped after UNLOCK TABLES: under LOCK TABLES,
-- MySQL and MariaDB refuse to drop (even IF EXISTS) a table not locked,
-- and locking a missing one fails, as a ring made by EF Core has none.
-- sessctl drop --force drops it without the check.
LOCK TABLES {{.Table}} WRITE;
SELECT (SELECT 1 UNION ALL SELECT 2) AS sessctl_the_key_ring_holds_keys FROM {{.Table}} LIMIT 1;
DROP TABLE {{.Table}};
UNLOCK TABLES;
DROP TABLE IF EXISTS {{.VersionTable}};
