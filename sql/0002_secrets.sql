-- Secrets: sensitive values encrypted at rest, their versions, who fetched them, and the
-- bookkeeping for online key rotation across several brokers.

-- A sensitive fact's current value lives encrypted in secret_versions, not here.
ALTER TABLE fact_values ALTER COLUMN value DROP NOT NULL;

-- Broker-generated secrets: how to make the next value ({length, alphabet}); NULL otherwise.
ALTER TABLE facts ADD COLUMN generator jsonb;

CREATE TABLE secret_versions (
  fact_id      integer NOT NULL REFERENCES facts (id),
  exporter     text NOT NULL,        -- certname, or '@broker' for generated secrets
  version      integer NOT NULL,     -- the fact version this value was written at
  state        text NOT NULL CHECK (state IN ('pending', 'current', 'previous', 'destroyed')),
  key_id       text,
  nonce        bytea,
  ciphertext   bytea,
  fingerprint  bytea NOT NULL,       -- keyed BLAKE2b of the value (fingerprint key, not the encryption key)
  created_at   timestamptz NOT NULL DEFAULT now(),
  retired_at   timestamptz,          -- when it stopped being current
  expires_at   timestamptz,          -- end of its grace period as previous
  destroyed_at timestamptz,
  PRIMARY KEY (fact_id, exporter, version),
  CHECK ((state = 'destroyed') = (ciphertext IS NULL)),
  CHECK ((ciphertext IS NULL) = (key_id IS NULL))
);
CREATE UNIQUE INDEX secret_versions_one_current ON secret_versions (fact_id, exporter) WHERE state = 'current';
CREATE INDEX secret_versions_by_key ON secret_versions (key_id) WHERE ciphertext IS NOT NULL;
CREATE INDEX secret_versions_by_fingerprint ON secret_versions (fingerprint);

-- One row per node x secret x version: storage grows with the fleet, not with agent runs.
CREATE TABLE secret_sightings (
  fact_id     integer NOT NULL,
  exporter    text NOT NULL,
  version     integer NOT NULL,
  certname    text NOT NULL,
  first_seen  timestamptz NOT NULL DEFAULT now(),
  last_seen   timestamptz NOT NULL DEFAULT now(),
  count       integer NOT NULL DEFAULT 1,
  PRIMARY KEY (fact_id, exporter, version, certname),
  FOREIGN KEY (fact_id, exporter, version) REFERENCES secret_versions (fact_id, exporter, version)
);
CREATE INDEX secret_sightings_by_node ON secret_sightings (certname);

-- A known plaintext per key id: a broker given a different key under the same id refuses to start.
CREATE TABLE key_checks (
  key_id      text PRIMARY KEY,
  nonce       bytea NOT NULL,
  ciphertext  bytea NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  retired_at  timestamptz
);

-- The key new values are sealed with, agreed by all brokers (one row).
CREATE TABLE keyring_state (
  singleton     boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  write_key_id  text NOT NULL
);

-- Live brokers and the key ids each has loaded: re-encryption waits until all have the new key.
CREATE TABLE brokers (
  id            text PRIMARY KEY,
  hostname      text NOT NULL,
  pid           integer NOT NULL,
  started_at    timestamptz NOT NULL DEFAULT now(),
  heartbeat_at  timestamptz NOT NULL DEFAULT now(),
  key_ids       text[] NOT NULL
);

CREATE TABLE key_rotations (
  id            integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  target_key_id text NOT NULL,
  state         text NOT NULL CHECK (state IN ('waiting', 'reencrypting', 'done')),
  requested_by  text NOT NULL,
  requested_at  timestamptz NOT NULL DEFAULT now(),
  started_at    timestamptz,
  finished_at   timestamptz,
  rows_done     integer NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX key_rotations_one_open ON key_rotations ((true)) WHERE state <> 'done';
