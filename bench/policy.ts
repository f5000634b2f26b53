// Issue 6: the cost of the access policy on the facts view, side by side in one process:
// the same 10,000-fact view rendered for new callers under no policy (the built-in defaults)
// and under a 500-rule policy. CPU of this process (the view is built here), per view.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { auditFilesIn, openAudit } from '../src/audit/open-audit';
import { PgStore } from '../src/db/pg-store';
import type { Caller } from '../src/identity/caller';
import { type CompiledPolicy, compilePolicy, DEFAULT_POLICY } from '../src/policy';
import { createKeyringFile } from '../src/secrets/keyring';
import { SecretVault } from '../src/secrets/secret-vault';
import { createServices } from '../src/services';
import { median, ms, printTable, x } from './report';
import { bulkLoadFacts, createStore } from './store';

export interface PolicyResult {
  facts: number;
  rules: number;
  views: number;
  coldNone: number;
  coldRules: number;
  warmNone: number;
  warmRules: number;
  compileMs: number;
}

const ENV = 'policybench';
const ROLES = 50;

/** 500 rules in the shape real ones take: per role, allow or deny reads of some facts, plus exports. */
export function benchPolicyYaml(rules = 500): string {
  const lines = ['rules:'];
  for (let r = 0; r < rules; r++) {
    const role = `role${r % ROLES}`;
    const facts = `c00${r % 10}.f0${String(r % 100).padStart(2, '0')}*`;
    const kind = r % 4 === 0 ? 'deny: read' : r % 4 === 1 ? 'allow: export' : 'allow: read';
    lines.push(`  - name: rule ${r}`, `    match: { pp_role: ${role} }`, `    ${kind}`, `    facts: ["${facts}"]`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The core bench's 500-rule policy: the same shape as benchPolicyYaml, over the facts the
 * core bench seeds (svc0…svc19 / key0…key9) so that rules do match its views, plus one rule
 * letting its writers (pp_role=writer) export: with any export rule, writes need a rule.
 */
export function benchCorePolicyYaml(rules = 500): string {
  const lines = ['rules:', '  - name: bench writers', '    match: { pp_role: writer }', '    allow: export', '    facts: ["*.*"]'];
  for (let r = 0; r < rules; r++) {
    const role = `role${r % ROLES}`;
    const facts = `svc${r % 20}.key${r % 10}*`;
    const kind = r % 4 === 0 ? 'deny: read' : r % 4 === 1 ? 'allow: export' : 'allow: read';
    lines.push(`  - name: rule ${r}`, `    match: { pp_role: ${role} }`, `    ${kind}`, `    facts: ["${facts}"]`);
  }
  return `${lines.join('\n')}\n`;
}

const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

export async function runPolicy(adminUrl: string, quick: boolean): Promise<PolicyResult> {
  const facts = quick ? 2_000 : 10_000;
  const views = quick ? 20 : 60;
  const reps = quick ? 1 : 3;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'exportfact-bench-policy-'));
  const db = await createStore('postgres', tmp, adminUrl, 'policy');
  const store = new PgStore(db.url!);
  try {
    await bulkLoadFacts({ databaseUrl: db.url! }, ENV, facts);
    const log = pino({ level: 'silent' });
    const keyring = createKeyringFile(path.join(tmp, 'keyring.json'));
    const audit = (await openAudit(store, auditFilesIn(tmp), log)).log;
    const started = process.hrtime.bigint();
    const compiled = compilePolicy(benchPolicyYaml(), 'bench-policy.yaml');
    const compileMs = Number(process.hrtime.bigint() - started) / 1e6;
    const holders: Record<'none' | 'rules', { current: CompiledPolicy }> = {
      none: { current: DEFAULT_POLICY },
      rules: { current: compiled },
    };
    const services = {
      none: createServices({
        store,
        vault: new SecretVault(keyring, keyring.newestId),
        secrets: { graceSeconds: 3600 },
        log,
        audit,
        policy: holders.none,
      }),
      rules: createServices({
        store,
        vault: new SecretVault(keyring, keyring.newestId),
        secrets: { graceSeconds: 3600 },
        log,
        audit,
        policy: holders.rules,
      }),
    };
    const callers = (variant: string, rep: number): Caller[] =>
      Array.from({ length: views }, (_, i) => ({
        certname: `${variant}-${rep}-${i}.bench`,
        environment: ENV,
        extensions: { pp_role: `role${i % ROLES}` },
      }));
    // Warm the row cache of both (one database read each), so only rendering and filtering are measured.
    for (const v of ['none', 'rules'] as const) await services[v].facts.view({ certname: 'warm.bench', environment: ENV, extensions: {} });

    const samples = { coldNone: [] as number[], coldRules: [] as number[], warmNone: [] as number[], warmRules: [] as number[] };
    for (let rep = 0; rep < reps; rep++) {
      for (const v of ['none', 'rules'] as const) {
        const who = callers(v, rep);
        // Cold: each caller's first view under this policy version (decisions not cached yet).
        let before = cpuSeconds();
        for (const c of who) await services[v].facts.view(c);
        samples[v === 'none' ? 'coldNone' : 'coldRules'].push((cpuSeconds() - before) / views);
        // Warm: the same callers after the view changed (their decisions are cached, the body is not).
        await services.none.facts.publish(
          { certname: 'writer.bench', environment: ENV, extensions: {} },
          { category: 'c000', name: 'bump', value: `${v}-${rep}`, sensitive: false, multi: false },
        );
        before = cpuSeconds();
        for (const c of who) await services[v].facts.view(c);
        samples[v === 'none' ? 'warmNone' : 'warmRules'].push((cpuSeconds() - before) / views);
      }
    }
    return {
      facts,
      rules: compiled.rules.length,
      views,
      coldNone: median(samples.coldNone),
      coldRules: median(samples.coldRules),
      warmNone: median(samples.warmNone),
      warmRules: median(samples.warmRules),
      compileMs,
    };
  } finally {
    await store.close();
    await db.drop();
  }
}

export function reportPolicy(r: PolicyResult): void {
  const verdict = (ratio: number) => (ratio < 1.1 ? 'met' : 'MISSED') as 'met' | 'MISSED';
  const cold = r.coldRules / r.coldNone;
  const warm = r.warmRules / r.warmNone;
  printTable(`policy: CPU per facts view of ${r.facts} facts, ${r.rules} rules vs no policy (${r.views} callers)`, [
    {
      figure: 'view, first of a caller: no policy / 500 rules',
      value: `${ms(r.coldNone)} / ${ms(r.coldRules)} = ${x(cold)}`,
      target: '< 1.10×',
      verdict: verdict(cold),
      detail: 'decisions computed for a new identity',
    },
    {
      figure: 'view after a change: no policy / 500 rules',
      value: `${ms(r.warmNone)} / ${ms(r.warmRules)} = ${x(warm)}`,
      target: '< 1.10×',
      verdict: verdict(warm),
      detail: 'decisions cached per identity and policy version',
    },
    { figure: 'compiling the rules', value: `${r.compileMs.toFixed(0)} ms`, detail: 'once per policy version, at load or reload' },
  ]);
}
