-- A counter of committed renames, so an instance that missed a rename notification (channel faceserver_persons)
-- notices at its periodic version check by reading one number, instead of dropping every cached name at every
-- check (which made each instance re-read every active subject's name every 10 s). Transactional on purpose: a
-- sequence would show an uncommitted rename's bump, and a name re-read before that commit would stay cached.
-- One row; renames are rare, so serialising them on it costs nothing.
CREATE TABLE person_names_version (
  one boolean PRIMARY KEY DEFAULT true CHECK (one),
  version bigint NOT NULL DEFAULT 0
);
INSERT INTO person_names_version DEFAULT VALUES;

CREATE OR REPLACE FUNCTION persons_renamed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE person_names_version SET version = version + 1;
  PERFORM pg_notify('faceserver_persons', NEW.id::text);
  RETURN NULL;
END $$;
