import type { Store } from '../db/store';

export interface NodeRow {
  certname: string;
  environment: string;
  first_seen: Date;
  last_seen: Date;
}

export class NodeStore {
  constructor(private readonly store: Store) {}

  /** One statement for a batch of contacts; last_seen never moves backwards. */
  async touchMany(contacts: { certname: string; environment: string; at: Date }[]): Promise<void> {
    await this.store.query(
      `INSERT INTO nodes (certname, environment, first_seen, last_seen)
       SELECT c, e, t, t FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS u(c, e, t)
       ON CONFLICT (certname) DO UPDATE
         SET last_seen = GREATEST(nodes.last_seen, EXCLUDED.last_seen), environment = EXCLUDED.environment`,
      [contacts.map((c) => c.certname), contacts.map((c) => c.environment), contacts.map((c) => c.at.toISOString())],
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
