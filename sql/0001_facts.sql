-- Facts, their current values and their history. One environment never sees another's.

-- One row per environment; view_version is bumped in every transaction that changes
-- what the environment's readers see, so a view's ETag is one primary-key lookup.
CREATE TABLE environments (
  name          text PRIMARY KEY,
  view_version  integer NOT NULL DEFAULT 0
);

-- Nodes that have contacted the broker (contacts are written in batches every few seconds).
CREATE TABLE nodes (
  certname     text PRIMARY KEY,
  environment  text NOT NULL,
  first_seen   timestamptz NOT NULL DEFAULT now(),
  last_seen    timestamptz NOT NULL DEFAULT now()
);

-- A fact name in an environment. Its kind (single or per-node, sensitive or not) is set by
-- the first publish and may change only while it has no value. The row outlives its
-- values so that version numbers keep counting up without gaps across a withdrawal.
CREATE TABLE facts (
  id           integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  environment  text NOT NULL,
  category     text NOT NULL,
  name         text NOT NULL,
  multi        boolean NOT NULL,
  sensitive    boolean NOT NULL,
  version      integer NOT NULL DEFAULT 0,
  UNIQUE (environment, category, name)
);

-- Current values: one per exporter (exactly one for a single fact).
CREATE TABLE fact_values (
  fact_id     integer NOT NULL REFERENCES facts (id),
  exporter    text NOT NULL,
  value       jsonb NOT NULL,
  version     integer NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (fact_id, exporter)
);
CREATE INDEX fact_values_exporter ON fact_values (exporter);

-- Every change, numbered per fact. Values of sensitive facts are never copied here.
CREATE TABLE fact_history (
  fact_id   integer NOT NULL REFERENCES facts (id),
  version   integer NOT NULL,
  exporter  text NOT NULL,
  action    text NOT NULL CHECK (action IN ('create', 'change', 'withdraw')),
  value     jsonb,
  at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (fact_id, version)
);
