import type { Queryable } from '../../src/db/store';

/** A sealed secret version as stored, with what SecretVault.open needs to open it. */
export interface SealedVersion {
  environment: string;
  category: string;
  name: string;
  exporter: string;
  version: number;
  key_id: string;
  nonce: Buffer;
  ciphertext: Buffer;
}

/** Every secret version that still holds a sealed value (withdrawn ones hold none). */
export async function sealedVersions(db: Queryable): Promise<SealedVersion[]> {
  const { rows } = await db.query<SealedVersion>(
    `SELECT f.environment, f.category, f.name, s.exporter, s.version, s.key_id, s.nonce, s.ciphertext
       FROM secret_versions s JOIN facts f ON f.id = s.fact_id WHERE s.ciphertext IS NOT NULL`,
  );
  return rows;
}
