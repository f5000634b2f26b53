-- Node lifecycle: a node is active, deactivated (by an admin, or by the revocation of its
-- certificate) or expired (not seen for --node-ttl). Only active nodes' values are in views;
-- a single fact of an inactive node is free for another exporter. Any authenticated request
-- of the node makes it active again, as PuppetDB does.
ALTER TABLE nodes ADD COLUMN state text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'deactivated', 'expired'));
ALTER TABLE nodes ADD COLUMN state_since timestamptz NOT NULL DEFAULT now();
ALTER TABLE nodes ADD COLUMN state_reason text;
-- The certificate the node last came with (issuing CA's fingerprint, serial): a CRL that lists
-- it deactivates the node.
ALTER TABLE nodes ADD COLUMN cert_issuer text;
ALTER TABLE nodes ADD COLUMN cert_serial text;
CREATE INDEX nodes_inactive ON nodes (state, state_since) WHERE state <> 'active';
CREATE INDEX nodes_by_certificate ON nodes (cert_issuer, cert_serial);
CREATE INDEX nodes_active_last_seen ON nodes (last_seen) WHERE state = 'active';
