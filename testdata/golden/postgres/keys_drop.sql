BEGIN;
DROP TABLE "public"."DataProtectionKeys";
DROP TABLE IF EXISTS "public"."DataProtectionKeys_migrations";
COMMIT;
