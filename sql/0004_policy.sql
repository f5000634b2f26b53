-- Nodes that asked the broker to generate a secret: by default they, and only they, may read it.
CREATE TABLE secret_requesters (
  fact_id          integer NOT NULL REFERENCES facts (id),
  certname         text NOT NULL,
  first_requested  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (fact_id, certname)
);
