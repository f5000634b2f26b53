-- Secret sightings covered by the audit chain: the first sighting of a version by a node is an
-- entry of the chain (action secret.sighting), and the row points at it, so deleting or
-- rewriting a sighting is found by `audit verify`. Rows from before this have no entry (NULL).
ALTER TABLE secret_sightings ADD COLUMN audit_seq bigint;
CREATE INDEX secret_sightings_by_audit_seq ON secret_sightings (audit_seq) WHERE audit_seq IS NOT NULL;
