import type { Queryable, Store } from '../db/store';

export type NodeState = 'active' | 'deactivated' | 'expired';

export interface NodeRow {
  certname: string;
  environment: string;
  state: NodeState;
  first_seen: Date;
  last_seen: Date;
  state_since: Date;
  state_reason: string | null;
}

export interface Contact {
  certname: string;
  environment: string;
  at: Date;
  certificate?: { serial: string; issuer: string };
  /** pp_role of its certificate, if any. */
  role?: string;
}

/** The channel node state changes are announced on (`certname:state`), for every broker's cache. */
export const NODE_CHANNEL = 'exportfact_nodes';

const COLUMNS = 'certname, environment, state, first_seen, last_seen, state_since, state_reason';

export class NodeStore {
  constructor(private readonly store: Store) {}

  get db(): Store {
    return this.store;
  }

  /**
   * One statement for a batch of contacts; last_seen never moves backwards. The certificate a
   * node came with is kept, so that a CRL listing it can name the node. The state is not
   * touched here: reactivation happens at once, on the request (NodeLifecycle).
   */
  async touchMany(contacts: Contact[]): Promise<void> {
    await this.store.query(
      `INSERT INTO nodes (certname, environment, first_seen, last_seen, cert_issuer, cert_serial, role)
       SELECT c, e, t, t, i, s, r FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[]) AS u(c, e, t, i, s, r)
       ON CONFLICT (certname) DO UPDATE
         SET last_seen = GREATEST(nodes.last_seen, EXCLUDED.last_seen), environment = EXCLUDED.environment, role = EXCLUDED.role,
             cert_issuer = coalesce(EXCLUDED.cert_issuer, nodes.cert_issuer), cert_serial = coalesce(EXCLUDED.cert_serial, nodes.cert_serial)`,
      [
        contacts.map((c) => c.certname),
        contacts.map((c) => c.environment),
        contacts.map((c) => c.at.toISOString()),
        contacts.map((c) => c.certificate?.issuer ?? null),
        contacts.map((c) => c.certificate?.serial ?? null),
        contacts.map((c) => c.role ?? null),
      ],
    );
  }

  async list(filter: { environment?: string; state?: NodeState } = {}): Promise<NodeRow[]> {
    const { rows } = await this.store.query<NodeRow>(
      `SELECT ${COLUMNS} FROM nodes WHERE ($1::text IS NULL OR environment = $1) AND ($2::text IS NULL OR state = $2) ORDER BY certname`,
      [filter.environment ?? null, filter.state ?? null],
    );
    return rows;
  }

  async get(q: Queryable, certname: string): Promise<NodeRow | undefined> {
    const { rows } = await q.query<NodeRow>(`SELECT ${COLUMNS} FROM nodes WHERE certname = $1`, [certname]);
    return rows[0];
  }

  async inactive(): Promise<string[]> {
    const { rows } = await this.store.query<{ certname: string }>("SELECT certname FROM nodes WHERE state <> 'active'");
    return rows.map((r) => r.certname);
  }

  /**
   * Moves nodes to a state and announces it (delivered on commit). `onlyFrom` limits it to
   * nodes in these states, `onlyReasonPrefix` to those whose current state was given for a
   * reason starting so (a source undoing only its own deactivations). Returns the nodes that changed.
   */
  async setState(
    tx: Queryable,
    certnames: string[],
    state: NodeState,
    reason: string | null,
    onlyFrom: NodeState[],
    onlyReasonPrefix?: string,
  ): Promise<string[]> {
    if (!certnames.length) return [];
    const { rows } = await tx.query<{ certname: string }>(
      `UPDATE nodes SET state = $2, state_since = now(), state_reason = $3
        WHERE certname = ANY($1::text[]) AND state = ANY($4::text[]) AND ($5::text IS NULL OR starts_with(state_reason, $5))
        RETURNING certname, pg_notify('${NODE_CHANNEL}', certname || ':' || $2) AS notified`,
      [certnames, state, reason, onlyFrom, onlyReasonPrefix ?? null],
    );
    return rows.map((r) => r.certname);
  }

  /**
   * Records a node the broker learnt of from elsewhere (an import from PuppetDB) with the last
   * time that source saw it, so that its lifecycle (expiry, PuppetDB's deactivation) applies to
   * it before it first contacts the broker. A node already known is left as it is.
   */
  async addIfAbsent(tx: Queryable, certname: string, environment: string, lastSeen: Date): Promise<boolean> {
    const { rowCount } = await tx.query(
      `INSERT INTO nodes (certname, environment, first_seen, last_seen) VALUES ($1, $2, $3, $3) ON CONFLICT (certname) DO NOTHING`,
      [certname, environment, lastSeen.toISOString()],
    );
    return rowCount > 0;
  }

  /**
   * Moves last_seen forward to when another source (PuppetDB) last heard of these nodes, so the
   * node TTL follows that source too; never backwards, never for a node the broker does not know.
   */
  async seenElsewhere(seen: { certname: string; at: Date }[]): Promise<void> {
    if (!seen.length) return;
    await this.store.query(
      `UPDATE nodes n SET last_seen = u.t FROM unnest($1::text[], $2::timestamptz[]) AS u(c, t)
        WHERE n.certname = u.c AND n.last_seen < u.t`,
      [seen.map((s) => s.certname), seen.map((s) => s.at.toISOString())],
    );
  }

  /** Active nodes whose last contact is older than `ttlSeconds`. */
  async idleSince(ttlSeconds: number): Promise<string[]> {
    const { rows } = await this.store.query<{ certname: string }>(
      "SELECT certname FROM nodes WHERE state = 'active' AND last_seen < now() - make_interval(secs => $1) ORDER BY certname LIMIT 1000",
      [ttlSeconds],
    );
    return rows.map((r) => r.certname);
  }

  /** Inactive nodes whose state is older than `ttlSeconds`: due for purging. */
  async inactiveSince(ttlSeconds: number): Promise<string[]> {
    const { rows } = await this.store.query<{ certname: string }>(
      "SELECT certname FROM nodes WHERE state <> 'active' AND state_since < now() - make_interval(secs => $1) ORDER BY certname LIMIT 100",
      [ttlSeconds],
    );
    return rows.map((r) => r.certname);
  }

  /** Active nodes whose last certificate is one of these (a CRL's serials of one CA). */
  async withCertificates(issuer: string, serials: string[]): Promise<string[]> {
    if (!serials.length) return [];
    const { rows } = await this.store.query<{ certname: string }>(
      "SELECT certname FROM nodes WHERE cert_issuer = $1 AND cert_serial = ANY($2::text[]) AND state <> 'deactivated'",
      [issuer, serials],
    );
    return rows.map((r) => r.certname);
  }

  async remove(tx: Queryable, certname: string): Promise<void> {
    await tx.query(`DELETE FROM nodes WHERE certname = $1 RETURNING pg_notify('${NODE_CHANNEL}', certname || ':purged')`, [certname]);
  }
}
