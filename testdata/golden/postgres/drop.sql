BEGIN;
DROP TABLE "public"."SessionData";
DROP TABLE IF EXISTS "public"."SessionData_migrations";
COMMIT;
