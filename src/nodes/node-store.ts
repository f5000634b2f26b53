import type { Store } from '../db/store';

export interface NodeRow {
  certname: string;
  environment: string;
  first_seen: Date;
  last_seen: Date;
}

export class NodeStore {
  constructor(private readonly store: Store) {}

  async touch(certname: string, environment: string): Promise<void> {
    await this.store.query(
      `INSERT INTO nodes (certname, environment) VALUES ($1, $2)
       ON CONFLICT (certname) DO UPDATE SET last_seen = now(), environment = EXCLUDED.environment`,
      [certname, environment],
    );
  }

  async list(environment: string): Promise<NodeRow[]> {
    const { rows } = await this.store.query<NodeRow>(
      'SELECT certname, environment, first_seen, last_seen FROM nodes WHERE environment = $1 ORDER BY certname',
      [environment],
    );
    return rows;
  }
}
