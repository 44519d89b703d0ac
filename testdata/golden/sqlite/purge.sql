-- Deletes the rows of "main"."SessionData" that expired over 5m0s ago, 1000 at a time.
-- Each run of the statement is its own transaction: repeat it until it
-- deletes no rows (sqlite3: SELECT changes();).
DELETE FROM "main"."SessionData"
WHERE rowid IN (
    SELECT rowid FROM "main"."SessionData"
    WHERE "main"."SessionData"."ExpiresAtTime" < ((CAST(strftime('%s', 'now') AS INTEGER) * 1000 + CAST(substr(strftime('%f', 'now'), 4) AS INTEGER)) * 1000) - 300000000
    ORDER BY "main"."SessionData"."ExpiresAtTime"
    LIMIT 1000);
