-- Gates: what each node's role waits for (exportfact::gate / ready), as its last run reported
-- it. Names only, never values. A node's gates are replaced like its exports: the run reports
-- the gates of its catalog and prunes the others.
CREATE TABLE gates (
  certname        text NOT NULL,
  environment     text NOT NULL,
  name            text NOT NULL,
  open            boolean NOT NULL,
  -- [{"category", "name", "min"}]: what the gate needs, and what was missing at the last report.
  requires        jsonb NOT NULL,
  missing         jsonb NOT NULL,
  since           timestamptz NOT NULL DEFAULT now(),  -- when it last opened or closed
  opened_at       timestamptz,                         -- when it last opened (the deployment timeline)
  first_reported  timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (certname, name)
);
CREATE INDEX gates_by_environment ON gates (environment);

-- The node's pp_role, from its certificate, for the deployment picture (grouping by role).
ALTER TABLE nodes ADD COLUMN role text;
