-- The face store shared by every dialect: collections (CompreFace's per-key collection, FindFace's galleries),
-- persons (CompreFace subjects, FindFace meta, Face Intellect persons), faces with their templates and
-- embeddings, optional original photos, cameras, recognition history and API keys.
-- Ids are bigint identities; JavaScript reads them as numbers (they stay far below 2^53).

CREATE TABLE collections (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL UNIQUE,
  -- false: the collection is not loaded into the in-memory matcher; it is searched with pgvector SQL instead.
  in_memory boolean NOT NULL DEFAULT true,
  -- Bumped by every change of the collection's faces (membership or embedding); the in-memory index uses it
  -- to drop change notifications that a newer load or re-read already covers.
  version bigint NOT NULL DEFAULT 0,
  attributes jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE persons (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  uuid uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
  -- Set for CompreFace subjects: the name is then unique within that collection. NULL for persons whose
  -- names need not be unique (Face Intellect, FindFace).
  owner_collection_id bigint REFERENCES collections (id) ON DELETE CASCADE,
  name text NOT NULL,
  surname text,
  patronymic text,
  department text,
  comment text,
  attributes jsonb NOT NULL DEFAULT '{}',
  recognition_count bigint NOT NULL DEFAULT 0,
  last_recognized_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX persons_owner_name_key ON persons (owner_collection_id, name) WHERE owner_collection_id IS NOT NULL;
CREATE INDEX persons_name_idx ON persons (name);

-- Original photos, stored only when SAVE_IMAGES is on.
CREATE TABLE photos (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  sha256 bytea NOT NULL CHECK (octet_length(sha256) = 32),
  mime_type text,
  bytes bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX photos_sha256_idx ON photos (sha256);

CREATE TABLE cameras (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  uuid uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
  name text NOT NULL UNIQUE,
  url text,
  comment text,
  attributes jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE faces (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  uuid uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
  -- Deleting a person deletes the person's faces (CompreFace: deleting a subject deletes its examples).
  person_id bigint REFERENCES persons (id) ON DELETE CASCADE,
  box_x integer,
  box_y integer,
  box_width integer,
  box_height integer,
  photo_id bigint REFERENCES photos (id) ON DELETE SET NULL,
  -- Kept even when the photo itself is not stored, so a re-upload of the same photo can be recognised.
  photo_sha256 bytea CHECK (photo_sha256 IS NULL OR octet_length(photo_sha256) = 32),
  template bytea NOT NULL,
  embedding vector(512) NOT NULL,
  quality real,
  attributes jsonb NOT NULL DEFAULT '{}',
  camera_id bigint REFERENCES cameras (id) ON DELETE SET NULL,
  auto_created boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX faces_person_idx ON faces (person_id);
CREATE INDEX faces_photo_idx ON faces (photo_id);
CREATE INDEX faces_created_idx ON faces (created_at);
-- The SQL search path (collections kept out of memory, reporting). Cosine distance: embedding <=> query.
CREATE INDEX faces_embedding_hnsw ON faces USING hnsw (embedding vector_cosine_ops);

-- A face can be in several collections (FindFace galleries).
CREATE TABLE face_collections (
  collection_id bigint NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
  face_id bigint NOT NULL REFERENCES faces (id) ON DELETE CASCADE,
  added_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (collection_id, face_id)
);
CREATE INDEX face_collections_face_idx ON face_collections (face_id);

-- A face's photo goes with the face once no other face uses it.
CREATE FUNCTION faces_delete_photo() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM photos p
   WHERE p.id IN (SELECT DISTINCT o.photo_id FROM old_faces o WHERE o.photo_id IS NOT NULL)
     AND NOT EXISTS (SELECT 1 FROM faces f WHERE f.photo_id = p.id);
  RETURN NULL;
END $$;
CREATE TRIGGER faces_delete_photo AFTER DELETE ON faces
  REFERENCING OLD TABLE AS old_faces FOR EACH STATEMENT EXECUTE FUNCTION faces_delete_photo();

-- Change notifications for the in-memory index of every server instance, sent at commit on channel
-- faceserver_faces. Payload (JSON): {"c": collection id, "f": face id, "op": "add"|"remove"|"update", "v": version},
-- or {"c": id, "op": "reload", "v": version} when one statement changed more than 500 faces of a collection,
-- or {"c": id, "op": "drop"} when the collection was deleted. Receivers re-read the rows; they never take a
-- template from the payload.
CREATE FUNCTION notify_face_changes(changes_op text, changes jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  per_collection record;
  new_version bigint;
  change jsonb;
BEGIN
  FOR per_collection IN
    SELECT (c ->> 'c')::bigint AS collection_id, jsonb_agg(c -> 'f') AS face_ids, count(*) AS n
      FROM jsonb_array_elements(changes) c GROUP BY 1
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

CREATE FUNCTION face_collections_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM notify_face_changes('add', (SELECT coalesce(jsonb_agg(jsonb_build_object('c', collection_id, 'f', face_id)), '[]') FROM new_rows));
  RETURN NULL;
END $$;
CREATE TRIGGER face_collections_added AFTER INSERT ON face_collections
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION face_collections_added();

CREATE FUNCTION face_collections_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM notify_face_changes('remove', (SELECT coalesce(jsonb_agg(jsonb_build_object('c', collection_id, 'f', face_id)), '[]') FROM old_rows));
  RETURN NULL;
END $$;
CREATE TRIGGER face_collections_removed AFTER DELETE ON face_collections
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION face_collections_removed();

CREATE FUNCTION faces_embedding_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM notify_face_changes('update', (
    SELECT coalesce(jsonb_agg(jsonb_build_object('c', fc.collection_id, 'f', fc.face_id)), '[]')
      FROM new_faces n JOIN old_faces o ON o.id = n.id JOIN face_collections fc ON fc.face_id = n.id
     WHERE n.embedding IS DISTINCT FROM o.embedding));
  RETURN NULL;
END $$;
CREATE TRIGGER faces_embedding_changed AFTER UPDATE ON faces
  REFERENCING NEW TABLE AS new_faces OLD TABLE AS old_faces FOR EACH STATEMENT EXECUTE FUNCTION faces_embedding_changed();

CREATE TABLE recognition_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  occurred_at timestamptz NOT NULL DEFAULT now(),
  camera_id bigint REFERENCES cameras (id) ON DELETE SET NULL,
  collection_id bigint REFERENCES collections (id) ON DELETE SET NULL,
  -- The best match, or NULL when nobody matched.
  face_id bigint REFERENCES faces (id) ON DELETE SET NULL,
  person_id bigint REFERENCES persons (id) ON DELETE SET NULL,
  similarity real,
  -- friend / foe / unknown for watch lists, match / no_match for verification; free text for other dialects.
  verdict text,
  box_x integer,
  box_y integer,
  box_width integer,
  box_height integer,
  -- The probe face's embedding, for reporting queries such as "faces like this one among camera 7's events".
  embedding vector(512),
  thumbnail_ref text,
  dialect text,
  endpoint text,
  request_id text,
  attributes jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX recognition_events_time_idx ON recognition_events (occurred_at);
CREATE INDEX recognition_events_camera_time_idx ON recognition_events (camera_id, occurred_at);
CREATE INDEX recognition_events_person_time_idx ON recognition_events (person_id, occurred_at);
CREATE INDEX recognition_events_collection_time_idx ON recognition_events (collection_id, occurred_at);

-- Per-person recognition statistics, kept by the event insert.
CREATE FUNCTION recognition_events_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE persons p
     SET recognition_count = p.recognition_count + n.cnt,
         last_recognized_at = greatest(p.last_recognized_at, n.latest)
    FROM (SELECT person_id, count(*) AS cnt, max(occurred_at) AS latest
            FROM new_events WHERE person_id IS NOT NULL GROUP BY person_id) n
   WHERE p.id = n.person_id;
  RETURN NULL;
END $$;
CREATE TRIGGER recognition_events_count AFTER INSERT ON recognition_events
  REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION recognition_events_count();

CREATE TABLE api_keys (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- sha256 of the key; the key itself is shown once at creation and never stored.
  key_hash bytea NOT NULL UNIQUE CHECK (octet_length(key_hash) = 32),
  -- The first characters of the key, for listing and revoking by prefix.
  prefix text NOT NULL,
  name text,
  -- recognition | detection | verification for CompreFace; other dialects add their own.
  service text NOT NULL CHECK (service ~ '^[a-z][a-z0-9_-]*$'),
  scopes text[] NOT NULL DEFAULT '{}',
  -- The collection a recognition key owns.
  collection_id bigint REFERENCES collections (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);
CREATE INDEX api_keys_prefix_idx ON api_keys (prefix);
