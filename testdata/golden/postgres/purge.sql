-- Deletes the rows of "public"."SessionData" that expired over 5m0s ago, 1000 at a time,
-- each batch its own transaction. Run it outside a transaction block.
DO $sessctl$
BEGIN
    LOOP
        DELETE FROM "public"."SessionData"
        WHERE ctid = ANY (ARRAY (
            SELECT ctid FROM "public"."SessionData"
            WHERE "ExpiresAtTime" OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => 300))
            ORDER BY "ExpiresAtTime"
            LIMIT 1000
            FOR UPDATE SKIP LOCKED))
          AND "ExpiresAtTime" OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => 300));
        EXIT WHEN NOT FOUND;
        COMMIT;
    END LOOP;
END
$sessctl$;
