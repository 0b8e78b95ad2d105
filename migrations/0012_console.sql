-- The web console (/console): operator accounts made with `faceserver operators`, sign-in sessions, and the
-- small face crops the console shows (THUMBNAILS).

-- Operators who sign in with a name and a password (the admin secret signs in too, without an account).
CREATE TABLE console_operators (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  username text NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$'),
  -- scrypt$<log2 N>$<r>$<p>$<salt, base64>$<hash, base64>: never the password itself.
  password_hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Signed-in browsers. Only the sha-256 of the session cookie's random token is kept, so a copy of this table
-- opens no session. A session ends at expires_at, or after the idle time since last_seen_at.
CREATE TABLE console_sessions (
  token_hash bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),
  -- NULL: signed in with the admin secret. Removing an operator ends the operator's sessions.
  operator_id bigint REFERENCES console_operators (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX console_sessions_expires_idx ON console_sessions (expires_at);

-- The probe face of a recognition event, a small JPEG crop, written in the same row (so it goes with the
-- event: HISTORY_RETENTION_DAYS deletes both). NULL when THUMBNAILS is off or no image was at hand.
ALTER TABLE recognition_events ADD COLUMN thumbnail bytea;
COMMENT ON COLUMN recognition_events.thumbnail IS 'JPEG crop of the probe face (THUMBNAILS); deleted with the event';

-- An enrolled face's crop: cut at enrolment when the photo itself is not kept (SAVE_IMAGES=false), else cut
-- from the stored photo the first time the console shows it. Deleted with the face.
CREATE TABLE face_thumbnails (
  face_id bigint PRIMARY KEY REFERENCES faces (id) ON DELETE CASCADE,
  jpeg bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
