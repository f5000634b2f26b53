import type { Actor } from '../audit/audit-entry';
import { type Auditor, nodeActor, policyWriteRefusal, refusal } from '../audit/auditor';
import type { Queryable } from '../db/store';
import { AppError, ConflictError, NotFoundError } from '../errors/app-error';
import { AuditUnavailableError } from '../errors/audit-unavailable-error';
import { PolicyDeniedError } from '../errors/policy-denied-error';
import { isConnectionFailure } from '../errors/store-errors';
import type { PolicySource, SensitiveValues } from '../facts/fact-service';
import type { FactRow, FactStore } from '../facts/fact-store';
import type { Caller } from '../identity/caller';
import type { SecretAddress } from './cipher';
import { generatePassword, resolveAlphabet } from './password-generator';
import { BROKER_EXPORTER, type SecretStore, type SecretVersionRow } from './secret-store';
import type { SecretVault } from './secret-vault';

export interface SecretsConfig {
  /** How long a previous version stays readable after a rotation. */
  graceSeconds: number;
}

export interface GenerateInput {
  length: number;
  alphabet: string;
}

const addressOf = (r: SecretVersionRow): SecretAddress => ({
  environment: r.environment,
  category: r.category,
  name: r.name,
  exporter: r.exporter,
  version: r.version,
});

/**
 * Sensitive values: sealed on the way in, opened on the way out, every hand-out recorded as
 * a sighting in the same transaction (no secret leaves unrecorded: if the sighting cannot be
 * written, the read fails). Broker-generated secrets are created once, under the fact's row
 * lock, so concurrent requests all get the one value.
 */
export class SecretService implements SensitiveValues {
  constructor(
    private readonly secrets: SecretStore,
    private readonly facts: FactStore,
    private readonly vault: SecretVault,
    private readonly config: SecretsConfig,
    private readonly audit: Auditor,
    private readonly policy: PolicySource,
  ) {}

  // --- SensitiveValues, used by FactService when a node publishes a sensitive fact ---

  fingerprint(value: unknown): Promise<Buffer> {
    return this.vault.fingerprint(value);
  }

  currentFingerprints(tx: Queryable, factId: number): Promise<Map<string, Buffer>> {
    return this.secrets.currentFingerprints(tx, factId);
  }

  async write(tx: Queryable, at: SecretAddress & { factId: number }, value: unknown): Promise<void> {
    await this.addVersion(tx, at, value, 'current');
  }

  destroy(tx: Queryable, factId: number, exporter: string): Promise<void> {
    return this.secrets.destroyAll(tx, factId, exporter);
  }

  // --- reads ---

  /** The current value (or a pinned version) for a node, recorded as a sighting. */
  async read(caller: Caller, category: string, name: string, pin?: number) {
    return this.secrets.db.transaction(async (tx) => {
      const rows = await this.secrets.readable(tx, caller.environment, category, name, pin);
      const found = pin === undefined ? rows.filter((r) => r.state === 'current') : rows;
      const chosen = found.length ? await this.readableBy(tx, caller, found) : found;
      if (!chosen.length) {
        throw new NotFoundError(
          'secret_not_found',
          pin === undefined
            ? `no sensitive fact ${category}.${name} in environment ${caller.environment}`
            : `${category}.${name} has no readable version ${pin} (destroyed, expired or never made)`,
        );
      }
      // Keys are certnames: no prototype, so a node named __proto__ reads its own value.
      const values: Record<string, unknown> = Object.create(null);
      for (const row of chosen) {
        values[row.exporter] = await this.vault.open(row, addressOf(row));
        await this.recordSighting(tx, caller, row);
      }
      const multi = chosen[0].multi;
      const version = Math.max(...chosen.map((r) => r.version));
      return multi
        ? { category, name, version, values }
        : { category, name, version, state: chosen[0].state, value: values[chosen[0].exporter] };
    });
  }

  /**
   * No secret leaves unrecorded: when the sighting cannot be written, the read fails. A node's
   * first sighting of a version is also an entry of the audit chain, so deleting it is found.
   */
  private async recordSighting(tx: Queryable, caller: Caller, row: SecretVersionRow): Promise<void> {
    try {
      if (!(await this.secrets.recordSighting(tx, row.fact_id, row.exporter, row.version, caller.certname))) return;
      const seq = await this.audit.append(tx, {
        actor: nodeActor(caller.certname),
        action: 'secret.sighting',
        environment: row.environment,
        category: row.category,
        name: row.name,
        version: row.version,
        detail: { exporter: row.exporter },
      });
      await this.secrets.linkSighting(tx, row.fact_id, row.exporter, row.version, caller.certname, seq);
    } catch (err) {
      if (err instanceof AuditUnavailableError || isConnectionFailure(err)) throw err;
      throw new AuditUnavailableError(err as Error);
    }
  }

  /** The rows the policy lets this caller read; refuses (as "not found") when there is none. */
  private async readableBy(tx: Queryable, caller: Caller, rows: SecretVersionRow[]): Promise<SecretVersionRow[]> {
    const requesters = await this.secrets.requesters(tx, rows[0].fact_id);
    const allowed = this.policy.current.forCaller(caller);
    const decisions = rows.map((r) =>
      allowed.decide('read', { category: r.category, name: r.name, sensitive: true, exporters: [r.exporter], requesters }),
    );
    const readable = rows.filter((_, i) => decisions[i].allowed);
    if (!readable.length) {
      const { category, name } = rows[0];
      throw refusal(
        this.audit,
        caller,
        new PolicyDeniedError(
          404,
          'secret_not_found',
          `no sensitive fact ${category}.${name} in environment ${caller.environment}`,
          decisions[0].rule?.text ?? decisions[0].reason,
        ),
        { category, name },
      );
    }
    return readable;
  }

  // --- broker-generated secrets ---

  /** Generate-if-absent: the first request creates the value, every other one gets the same. */
  async generate(caller: Caller, category: string, name: string, input: GenerateInput) {
    if (resolveAlphabet(input.alphabet).length < 2)
      throw new AppError(400, 'invalid_body', 'field alphabet: needs at least 2 distinct characters');
    const decision = this.policy.current.forCaller(caller).decide('generate', { category, name, sensitive: true, exporters: [] });
    if (!decision.allowed) {
      throw policyWriteRefusal(this.audit, caller, decision, 'have %s generated', { category, name });
    }
    const candidate = generatePassword(input.length, input.alphabet);
    const env = caller.environment;
    const created = await this.secrets.db.transaction(async (tx) => {
      const fact = await this.facts.lockFact(tx, env, category, name, false, true);
      const hasValues = (await this.facts.exporters(tx, fact.id, null)).length > 0;
      if (fact.generator && hasValues) {
        // Handing out the existing value to a request for another length or alphabet could give
        // a node a weaker secret than it asked for: the manifests disagree, and must be fixed.
        if (!sameGenerator(fact.generator, input)) {
          throw refusal(
            this.audit,
            caller,
            new ConflictError(
              'generate_parameters_differ',
              `${category}.${name} was generated with length ${fact.generator.length} and alphabet ${JSON.stringify(fact.generator.alphabet)}; this request asks for length ${input.length} and alphabet ${JSON.stringify(input.alphabet)}`,
            ),
            { category, name },
          );
        }
        await this.secrets.addRequester(tx, fact.id, caller.certname);
        return false;
      }
      if (hasValues) {
        throw refusal(
          this.audit,
          caller,
          new ConflictError('secret_not_generated', `${category}.${name} is published by a node, not generated by the broker`),
          { category, name },
        );
      }
      await this.facts.setKind(tx, fact.id, false, true, { length: input.length, alphabet: input.alphabet });
      Object.assign(fact, { multi: false, sensitive: true });
      const version = await this.facts.writeValue(tx, env, fact, BROKER_EXPORTER, null, 'create');
      await this.addVersion(
        tx,
        { environment: env, category, name, exporter: BROKER_EXPORTER, version, factId: fact.id },
        candidate,
        'current',
      );
      await this.secrets.addRequester(tx, fact.id, caller.certname);
      await this.audit.append(tx, {
        actor: nodeActor(caller.certname),
        action: 'secret.generate',
        environment: env,
        category,
        name,
        version,
        detail: { length: input.length, alphabet: input.alphabet },
      });
      return true;
    });
    return { ...(await this.read(caller, category, name)), created };
  }

  /** An admin's rotation of a broker-generated secret: a new value, current at once or pending. */
  async rotate(actor: Actor, env: string, category: string, name: string, opts: { value?: unknown; pending: boolean }) {
    return this.secrets.db.transaction(async (tx) => {
      const fact = await this.lockGenerated(tx, env, category, name);
      const value = opts.value ?? generatePassword(fact.generator!.length, fact.generator!.alphabet);
      const version = await this.facts.nextVersion(tx, fact);
      const at = { environment: env, category, name, exporter: BROKER_EXPORTER, version, factId: fact.id };
      await this.addVersion(tx, at, value, opts.pending ? 'pending' : 'current');
      if (!opts.pending) await this.facts.setCurrentVersion(tx, env, fact.id, BROKER_EXPORTER, version);
      await this.audit.append(tx, {
        actor,
        action: 'secret.rotate',
        environment: env,
        category,
        name,
        version,
        detail: { pending: opts.pending, given: opts.value !== undefined },
      });
      return { environment: env, category, name, version, state: opts.pending ? 'pending' : 'current' };
    });
  }

  /** Makes a pending version current (the old current becomes previous for the grace period). */
  async promote(actor: Actor, env: string, category: string, name: string, version: number) {
    return this.secrets.db.transaction(async (tx) => {
      const fact = await this.lockGenerated(tx, env, category, name);
      if (!(await this.secrets.promote(tx, fact.id, BROKER_EXPORTER, version, this.config.graceSeconds))) {
        throw new NotFoundError('version_not_pending', `${category}.${name} has no pending version ${version}`);
      }
      await this.facts.setCurrentVersion(tx, env, fact.id, BROKER_EXPORTER, version);
      await this.audit.append(tx, { actor, action: 'secret.promote', environment: env, category, name, version });
      return { environment: env, category, name, version, state: 'current' };
    });
  }

  private async lockGenerated(tx: Queryable, env: string, category: string, name: string): Promise<FactRow> {
    const fact = await this.facts.findLocked(tx, env, category, name);
    if (!fact?.sensitive) throw new NotFoundError('secret_not_found', `no secret ${category}.${name} in environment ${env}`);
    if (!fact.generator) {
      throw new ConflictError(
        'secret_owned_by_node',
        `${category}.${name} is published by a node; that node rotates it by publishing a new value`,
      );
    }
    return fact;
  }

  private async addVersion(
    tx: Queryable,
    at: SecretAddress & { factId: number },
    value: unknown,
    state: 'pending' | 'current',
  ): Promise<void> {
    const [sealed, fingerprint] = await Promise.all([this.vault.seal(at, value), this.vault.fingerprint(value)]);
    await this.secrets.addVersion(tx, {
      factId: at.factId,
      exporter: at.exporter,
      version: at.version,
      state,
      sealed,
      fingerprint,
      graceSeconds: this.config.graceSeconds,
    });
  }

  // --- admin views ---

  list(env?: string) {
    return this.secrets.list(env);
  }

  /** Per version: its state and dates, who fetched it; and who has not fetched the current one yet. */
  async status(env: string, category: string, name: string) {
    const fact = await this.facts.findUnlocked(env, category, name);
    if (!fact?.sensitive) throw new NotFoundError('secret_not_found', `no secret ${category}.${name} in environment ${env}`);
    const [versions, sightings] = await Promise.all([this.secrets.versions(fact.id), this.secrets.sightings(fact.id)]);
    const current = versions.filter((v) => v.state === 'current');
    const seenCurrent = new Set(
      sightings.filter((s) => current.some((c) => c.version === s.version && c.exporter === s.exporter)).map((s) => s.certname),
    );
    const readers = [...new Set(sightings.map((s) => s.certname))].sort();
    return {
      environment: env,
      category,
      name,
      generated: fact.generator !== null,
      versions: versions.map((v) => ({
        exporter: v.exporter,
        version: v.version,
        state: v.state,
        key_id: v.key_id,
        created_at: v.created_at.toISOString(),
        expires_at: v.expires_at?.toISOString() ?? null,
        seen_by: sightings
          .filter((s) => s.version === v.version && s.exporter === v.exporter)
          .map((s) => ({
            certname: s.certname,
            first_seen: s.first_seen.toISOString(),
            last_seen: s.last_seen.toISOString(),
            count: s.count,
          })),
      })),
      not_yet_current: readers.filter((r) => !seenCurrent.has(r)),
    };
  }

  /** An admin's read of a value (the CLI asks for confirmation first). */
  async show(actor: Actor, env: string, category: string, name: string, version?: number) {
    const rows = await this.secrets.readable(this.secrets.db, env, category, name, version);
    const chosen = version === undefined ? rows.filter((r) => r.state === 'current') : rows;
    if (!chosen.length)
      throw new NotFoundError(
        'secret_not_found',
        `no readable secret ${category}.${name}${version ? ` version ${version}` : ''} in environment ${env}`,
      );
    const out = [];
    for (const row of chosen)
      out.push({ exporter: row.exporter, version: row.version, state: row.state, value: await this.vault.open(row, addressOf(row)) });
    // Recorded before the value is handed out; if it cannot be, nothing is shown.
    await this.audit
      .appendNow({ actor, action: 'admin.secret.read', environment: env, category, name, version: Math.max(...out.map((o) => o.version)) })
      .catch((err: Error) => {
        throw new AuditUnavailableError(err);
      });
    return { environment: env, category, name, values: out };
  }

  sweepExpired(): Promise<number> {
    return this.secrets.destroyExpired();
  }
}

/** Two generator settings make the same kind of secret: same length, same set of characters. */
function sameGenerator(a: GenerateInput, b: GenerateInput): boolean {
  return a.length === b.length && resolveAlphabet(a.alphabet) === resolveAlphabet(b.alphabet);
}
