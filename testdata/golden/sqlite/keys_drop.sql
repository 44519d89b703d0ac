BEGIN IMMEDIATE;
DROP TABLE "main"."DataProtectionKeys";
DROP TABLE IF EXISTS "main"."DataProtectionKeys_migrations";
COMMIT;
