-- The check and the drop in one transaction: the lock waits for an app's
-- insert in flight to commit, and then none can add a key the drop loses.
-- A ring that holds a key raises, and nothing is dropped (psql: run with
-- -v ON_ERROR_STOP=1). sessctl drop --force drops it without the check.
BEGIN;
LOCK TABLE "public"."DataProtectionKeys" IN ACCESS EXCLUSIVE MODE;
DO $sessctl$
BEGIN
    IF EXISTS (SELECT 1 FROM "public"."DataProtectionKeys") THEN
        RAISE EXCEPTION 'sessctl: the key ring holds keys; drop refused, nothing was changed';
    END IF;
END
$sessctl$;
DROP TABLE "public"."DataProtectionKeys";
DROP TABLE IF EXISTS "public"."DataProtectionKeys_migrations";
COMMIT;
