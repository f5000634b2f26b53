-- The fingerprint key, checked like the encryption keys: a broker given another fingerprint_key
-- would fingerprint an unchanged secret differently (a new version on every republish) and
-- leak triage would find nothing. The keyed hash of a fixed text made with the key in use.
ALTER TABLE keyring_state ADD COLUMN fingerprint_check bytea;
