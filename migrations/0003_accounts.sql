-- Accounts (CONTRACT.md, "Version 2: identity"). Users created by a task's path or a token's
-- numeric id have neither email nor password hash; an account has both.
ALTER TABLE users
  ADD COLUMN email         text UNIQUE,
  ADD COLUMN password_hash text,
  ADD CONSTRAINT users_account_complete CHECK ((email IS NULL) = (password_hash IS NULL)),
  -- The service stores emails trimmed and lower-cased (ASCII only), at most 254 characters.
  ADD CONSTRAINT users_email_normalised CHECK (email = lower(btrim(email)) AND length(email) <= 254);

-- Where new ids start looking. Ids are also created outside it (any path or token id makes
-- its own row), so it is only a hint: users_insert_new checks and skips ids in use.
CREATE SEQUENCE users_new_id_seq AS integer MINVALUE 1 MAXVALUE 2147483647;

-- A new user row on an id that is not in use, race-free across instances: the primary key
-- decides, and a taken id moves the sequence past the whole block of taken ids after it
-- (one index scan), so a dense block costs one extra round of the loop, not one per id.
-- Returns NULL when p_email is already taken.
CREATE FUNCTION users_insert_new(p_email text, p_password_hash text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  candidate integer;
  created   integer;
BEGIN
  LOOP
    candidate := nextval('users_new_id_seq');
    INSERT INTO users (id, email, password_hash) VALUES (candidate, p_email, p_password_hash)
      ON CONFLICT DO NOTHING
      RETURNING id INTO created;
    IF created IS NOT NULL THEN
      RETURN created;
    END IF;
    IF p_email IS NOT NULL AND EXISTS (SELECT 1 FROM users WHERE email = p_email) THEN
      RETURN NULL;
    END IF;
    -- The last id of the block of taken ids that starts at candidate.
    SELECT u.id INTO candidate FROM users u
      WHERE u.id >= candidate
        AND (u.id = 2147483647 OR NOT EXISTS (SELECT 1 FROM users v WHERE v.id = u.id + 1))
      ORDER BY u.id
      LIMIT 1;
    IF candidate = 2147483647 THEN
      RAISE EXCEPTION 'no user id left above the sequence';
    END IF;
    -- Forward only; a concurrent caller moving it meanwhile costs at most another round.
    PERFORM setval('users_new_id_seq', candidate) WHERE candidate >= (SELECT last_value FROM users_new_id_seq);
  END LOOP;
END
$$;

-- An identity provider's (issuer, subject) and the user id the service gave it.
CREATE TABLE user_subjects (
  issuer  text    NOT NULL,
  subject text    NOT NULL,
  user_id integer NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
  PRIMARY KEY (issuer, subject)
);

-- The user of (issuer, subject), created on first use. Two callers at once get the same id:
-- the loser's insert waits for the winner's commit, fails on the primary key, and its new
-- user row is rolled back with the block's subtransaction before it reads the winner's row.
CREATE FUNCTION user_for_subject(p_issuer text, p_subject text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  found integer;
BEGIN
  LOOP
    SELECT user_id INTO found FROM user_subjects WHERE issuer = p_issuer AND subject = p_subject;
    IF found IS NOT NULL THEN
      RETURN found;
    END IF;
    BEGIN
      found := users_insert_new(NULL, NULL);
      INSERT INTO user_subjects (issuer, subject, user_id) VALUES (p_issuer, p_subject, found);
      RETURN found;
    EXCEPTION WHEN unique_violation THEN
      -- Someone else mapped it first: read theirs.
    END;
  END LOOP;
END
$$;

-- Failed sign-ins, per normalised email (known or not), for throttling across instances.
CREATE TABLE sign_in_failures (
  id        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email     text        NOT NULL,
  failed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sign_in_failures_email_failed_at_idx ON sign_in_failures (email, failed_at);
CREATE INDEX sign_in_failures_failed_at_idx ON sign_in_failures (failed_at);
