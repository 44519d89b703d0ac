-- Deletes the rows of "public"."SessionData" that expired over 5m0s ago, 1000 at a time,
-- each batch its own transaction. Run it outside a transaction block.
DO $sessctl$
DECLARE
    deleted bigint;
BEGIN
    LOOP
        DELETE FROM "public"."SessionData"
        WHERE ctid = ANY (ARRAY (
            SELECT ctid FROM "public"."SessionData"
            WHERE "ExpiresAtTime" < now() - make_interval(secs => 300)
            ORDER BY "ExpiresAtTime"
            LIMIT 1000
            FOR UPDATE SKIP LOCKED))
          AND "ExpiresAtTime" < now() - make_interval(secs => 300);
        GET DIAGNOSTICS deleted = ROW_COUNT;
        EXIT WHEN deleted = 0;
        COMMIT;
    END LOOP;
END
$sessctl$;
