-- Keys grant a set of collections and scopes, for every dialect's kind of credential (issue 11).
-- Existing keys keep working: their hashes are untouched, a recognition key keeps its collection (as its
-- default), and each gets the scopes its service needs.

-- recognition | detection | verification (one product's three services), findface, imageapi, faceintellect,
-- scans; the code checks the list (src/domain/keys.ts), the column only the syntax, as before.
ALTER TABLE api_keys RENAME COLUMN service TO kind;

-- The public half of a two-part credential: an HTTP Basic user name or an OAuth2 client id. The secret half is
-- key_hash, as for every other key. One active credential per name and kind.
ALTER TABLE api_keys ADD COLUMN login text CHECK (login ~ '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$');
CREATE UNIQUE INDEX api_keys_kind_login_key ON api_keys (kind, login) WHERE login IS NOT NULL AND revoked_at IS NULL;

-- The collections a key may see, in order: position 0 is its default (where writes go when a request names
-- none). Deleting a collection takes it out of every grant; a key whose kind needs a collection and has none
-- left is refused.
CREATE TABLE api_key_collections (
  key_id bigint NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
  collection_id bigint NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
  position integer NOT NULL CHECK (position >= 0),
  PRIMARY KEY (key_id, collection_id),
  UNIQUE (key_id, position)
);
CREATE INDEX api_key_collections_collection_idx ON api_key_collections (collection_id);

INSERT INTO api_key_collections (key_id, collection_id, position)
  SELECT id, collection_id, 0 FROM api_keys WHERE collection_id IS NOT NULL;
ALTER TABLE api_keys DROP COLUMN collection_id;

UPDATE api_keys SET scopes = CASE kind
    WHEN 'recognition' THEN ARRAY['detect', 'verify', 'identify', 'read', 'write']
    WHEN 'detection' THEN ARRAY['detect']
    WHEN 'verification' THEN ARRAY['verify']
    ELSE ARRAY['detect', 'verify', 'identify', 'read', 'write']
  END
  WHERE scopes = '{}';
ALTER TABLE api_keys ADD CONSTRAINT api_keys_scopes_check
  CHECK (scopes <@ ARRAY['detect', 'verify', 'identify', 'read', 'write']::text[]);
