-- A statement that changes faces of several collections bumps their versions in collection id order, so
-- two such statements running at once lock the collection rows in the same order instead of deadlocking.
-- (Transactions that touch several collections in several statements can still deadlock; PostgreSQL then
-- aborts one with SQLSTATE 40P01 and nothing of it is kept: retry it.)
CREATE OR REPLACE FUNCTION notify_face_changes(changes_op text, changes jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  per_collection record;
  new_version bigint;
  change jsonb;
BEGIN
  FOR per_collection IN
    SELECT (c ->> 'c')::bigint AS collection_id, jsonb_agg(c -> 'f') AS face_ids, count(*) AS n
      FROM jsonb_array_elements(changes) c GROUP BY 1 ORDER BY 1
  LOOP
    UPDATE collections SET version = version + 1 WHERE id = per_collection.collection_id RETURNING version INTO new_version;
    IF new_version IS NULL THEN
      PERFORM pg_notify('faceserver_faces', json_build_object('c', per_collection.collection_id, 'op', 'drop')::text);
    ELSIF per_collection.n > 500 THEN
      PERFORM pg_notify('faceserver_faces',
        json_build_object('c', per_collection.collection_id, 'op', 'reload', 'v', new_version)::text);
    ELSE
      FOR change IN SELECT jsonb_array_elements(per_collection.face_ids) LOOP
        PERFORM pg_notify('faceserver_faces',
          json_build_object('c', per_collection.collection_id, 'f', change, 'op', changes_op, 'v', new_version)::text);
      END LOOP;
    END IF;
  END LOOP;
END $$;
