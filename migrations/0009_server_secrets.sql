-- Secrets the server makes for itself on first use and keeps across restarts and instances (e.g. the key that
-- signs the URLs of face photos and thumbnails an API hands out, so they work without a credential but cannot be
-- guessed). Never shown by any API.
CREATE TABLE server_secrets (
  name text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_.-]*$'),
  secret bytea NOT NULL CHECK (octet_length(secret) >= 32),
  created_at timestamptz NOT NULL DEFAULT now()
);
