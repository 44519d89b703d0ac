BEGIN;
DROP TABLE "public"."sessiondata";
DROP TABLE IF EXISTS "public"."sessiondata_migrations";
COMMIT;
