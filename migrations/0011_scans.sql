-- Face-compare scans (issue 15): two photos compared into a stored verdict with each face's measurements, kept
-- per company (the tenant named by the caller's access token). The photos themselves are identity documents:
-- stored only when the server is configured to, and deleted with their scan.
CREATE TABLE scans (
  id uuid PRIMARY KEY,
  -- The tenant: the company claim of the token that created it (every read, update and listing filters on it).
  company text NOT NULL CHECK (company <> ''),
  -- The caller's own reference (a contract number, ...).
  reference text NOT NULL,
  channel text NOT NULL CHECK (channel IN ('WEB', 'MOBILE', 'OTHER')),
  compare_result text NOT NULL CHECK (compare_result IN
    ('Same person', 'Different person', 'No face1', 'No face2', 'Failed to open file1', 'Failed to open file2')),
  -- On the API's calibrated scale (src/dialects/scans/similarity.ts); -1 when nothing was compared.
  compare_similarity double precision NOT NULL CHECK (compare_similarity >= -1 AND compare_similarity <= 1),
  -- Each face's measurements as the API shows them (box, pose, eyes, mouth, luminance, landmarks, ...); NULL
  -- when that photo had no face or could not be read.
  face1 jsonb,
  face2 jsonb,
  -- Seconds the comparison took.
  elapsed_time double precision,
  created_at timestamptz NOT NULL DEFAULT now(),
  -- The token's subject (a user id, or an OAuth2 client id).
  created_by text,
  updated_at timestamptz,
  updated_by text
);
CREATE INDEX scans_company_created_idx ON scans (company, created_at DESC, id DESC);
CREATE INDEX scans_company_reference_idx ON scans (company, reference);
-- Retention deletes by age across companies.
CREATE INDEX scans_created_idx ON scans (created_at);

-- The compared photos, when SCANS_SAVE_PHOTOS is on. Deleting a scan deletes its photos.
CREATE TABLE scan_photos (
  scan_id uuid NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
  file smallint NOT NULL CHECK (file IN (1, 2)),
  mime_type text,
  bytes bytea NOT NULL,
  PRIMARY KEY (scan_id, file)
);

-- The key pair faceserver signs its own access tokens with (OAuth2 client credentials). The private key never
-- leaves the database; the public key is published as a JWKS so that others may verify the tokens too.
CREATE TABLE token_signing_keys (
  kid text PRIMARY KEY,
  algorithm text NOT NULL,
  -- PKCS#8 PEM.
  private_key text NOT NULL,
  -- The public JWK (kid, alg and use included).
  public_jwk jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
