-- Deletes the rows of `app`.`SessionData` that expired over 5m0s ago, 1000 at a time.
-- With autocommit on, each run of the statement is its own transaction:
-- repeat it until it deletes no rows (SELECT ROW_COUNT(); says how many).
DELETE FROM `app`.`SessionData`
WHERE `ExpiresAtTime` < UTC_TIMESTAMP(6) - INTERVAL 300000000 MICROSECOND
ORDER BY `ExpiresAtTime`
LIMIT 1000;
