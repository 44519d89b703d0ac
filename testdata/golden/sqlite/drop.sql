BEGIN IMMEDIATE;
DROP TABLE "main"."SessionData";
DROP TABLE IF EXISTS "main"."SessionData_migrations";
COMMIT;
