.bail on
-- The check and the drop in one transaction, taken for writing first: no
-- app can add a key between them. A ring that holds a key fails the check
-- (json() of what is no JSON), and nothing is dropped. The sqlite3 shell
-- goes on after an error: run this with sqlite3 -bail.
-- sessctl drop --force drops it without the check.
BEGIN IMMEDIATE;
SELECT CASE WHEN EXISTS (SELECT 1 FROM "main"."DataProtectionKeys")
    THEN json('sessctl: the key ring holds keys; drop refused') END;
DROP TABLE "main"."DataProtectionKeys";
DROP TABLE IF EXISTS "main"."DataProtectionKeys_migrations";
COMMIT;
