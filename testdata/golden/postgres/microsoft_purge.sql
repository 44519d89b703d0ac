-- Deletes the rows of "public"."sessiondata" that expired over 5m0s ago, 1000 at a time,
-- each batch its own transaction. Run it outside a transaction block.
DO $sessctl$
BEGIN
    LOOP
        DELETE FROM "public"."sessiondata"
        WHERE ctid = ANY (ARRAY (
            SELECT ctid FROM "public"."sessiondata"
            WHERE "expiresattime" OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => 300))
            ORDER BY "expiresattime"
            LIMIT 1000
            FOR UPDATE SKIP LOCKED))
          AND "expiresattime" OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => 300));
        EXIT WHEN NOT FOUND;
        COMMIT;
    END LOOP;
END
$sessctl$;
