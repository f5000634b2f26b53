-- Audit: an append-only, hash-chained event log, signed chain heads, and the anchor that
-- lets verification start after old events were pruned. No value is ever stored here.

CREATE TABLE audit_events (
  seq          bigint PRIMARY KEY,            -- contiguous: a gap is a deleted entry
  at           timestamptz NOT NULL,
  actor_kind   text NOT NULL CHECK (actor_kind IN ('node', 'admin', 'broker')),
  actor        text NOT NULL,                 -- certname, admin token subject or certname, broker host
  action       text NOT NULL,
  environment  text,
  category     text,
  name         text,
  version      integer,
  count        integer NOT NULL DEFAULT 1,    -- repeated refusals are counted, not appended one by one
  detail       jsonb NOT NULL DEFAULT '{}',
  prev_hash    bytea NOT NULL,
  hash         bytea NOT NULL                 -- BLAKE2b-256(prev_hash || canonical entry)
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_actor ON audit_events (actor, at);
CREATE INDEX audit_events_fact ON audit_events (category, name, at);

-- The chain's end. Every append locks this one row, so appends from several brokers are
-- serialised and the chain never forks.
CREATE TABLE audit_chain (
  singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  seq        bigint NOT NULL,
  hash       bytea NOT NULL
);
INSERT INTO audit_chain (seq, hash) VALUES (0, '\x0000000000000000000000000000000000000000000000000000000000000000');

-- Chain heads signed with a broker's Ed25519 key (kept outside the database).
CREATE TABLE audit_heads (
  seq         bigint NOT NULL,
  hash        bytea NOT NULL,
  signed_at   timestamptz NOT NULL,
  public_key  bytea NOT NULL,
  signature   bytea NOT NULL,
  PRIMARY KEY (seq, public_key)
);

-- Where verification starts once older events are pruned: a signed head that is kept.
CREATE TABLE audit_anchor (
  singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  seq         bigint NOT NULL,
  hash        bytea NOT NULL,
  signed_at   timestamptz NOT NULL,
  public_key  bytea NOT NULL,
  signature   bytea NOT NULL
);

-- "What did node N see": sightings by node and time.
CREATE INDEX secret_sightings_by_node_time ON secret_sightings (certname, last_seen);
DROP INDEX secret_sightings_by_node;
