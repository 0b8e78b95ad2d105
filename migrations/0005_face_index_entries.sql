-- What the in-memory index streams at start, in a narrow table of its own: each face's person and its
-- embedding in half precision. A 1M-face load then reads ~1.1 KB per face instead of the ~2.7 KB faces row.
-- Half precision (error below 2e-4 on a unit embedding's values) is far inside what the matcher's int8 codes
-- lose (steps of 2.5e-3). The halves are kept as bytea holding pgvector's binary halfvec form
-- (halfvec_send: int16 dim, int16 0, 512 big-endian halves), because the server sends a bytea with one copy
-- while a halfvec (or vector) goes out value by value (measured 3-4x slower: benchmarks/RESULTS.md
-- "Index load"). faces stays the source of truth: these rows are written by the triggers below in the same
-- transaction as the face, and go with it.
CREATE TABLE face_index_entries (
  face_id bigint PRIMARY KEY REFERENCES faces (id) ON DELETE CASCADE,
  person_id bigint,
  embedding_half bytea NOT NULL
);

CREATE FUNCTION faces_index_entries_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO face_index_entries (face_id, person_id, embedding_half)
  SELECT id, person_id, halfvec_send(embedding::halfvec(512)) FROM new_faces;
  RETURN NULL;
END $$;
CREATE TRIGGER faces_index_entries_added AFTER INSERT ON faces
  REFERENCING NEW TABLE AS new_faces FOR EACH STATEMENT EXECUTE FUNCTION faces_index_entries_added();

CREATE FUNCTION faces_index_entries_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE face_index_entries e SET person_id = n.person_id, embedding_half = halfvec_send(n.embedding::halfvec(512))
    FROM new_faces n JOIN old_faces o ON o.id = n.id
   WHERE e.face_id = n.id AND (n.embedding IS DISTINCT FROM o.embedding OR n.person_id IS DISTINCT FROM o.person_id);
  RETURN NULL;
END $$;
CREATE TRIGGER faces_index_entries_changed AFTER UPDATE ON faces
  REFERENCING NEW TABLE AS new_faces OLD TABLE AS old_faces FOR EACH STATEMENT EXECUTE FUNCTION faces_index_entries_changed();

INSERT INTO face_index_entries (face_id, person_id, embedding_half)
SELECT id, person_id, halfvec_send(embedding::halfvec(512)) FROM faces;

-- The index also keeps each face's person: a face moved to another person (a merge) is a change too.
CREATE OR REPLACE FUNCTION faces_embedding_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM notify_face_changes('update', (
    SELECT coalesce(jsonb_agg(jsonb_build_object('c', fc.collection_id, 'f', fc.face_id)), '[]')
      FROM new_faces n JOIN old_faces o ON o.id = n.id JOIN face_collections fc ON fc.face_id = n.id
     WHERE n.embedding IS DISTINCT FROM o.embedding OR n.person_id IS DISTINCT FROM o.person_id));
  RETURN NULL;
END $$;

-- Person renames, for the name caches of every instance (channel faceserver_persons, payload: the person id).
-- Only a changed name notifies: the recognition counters update persons on every recognition.
CREATE FUNCTION persons_renamed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('faceserver_persons', NEW.id::text);
  RETURN NULL;
END $$;
CREATE TRIGGER persons_renamed AFTER UPDATE OF name ON persons
  FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION persons_renamed();
