import fs from 'node:fs';
import { Command, Option } from 'commander';
import { ConfigError } from '../errors/config-error';
import { isoTime, wholeNumber } from '../schemas/query-values';
import { fingerprint } from '../secrets/cipher';
import { Keyring } from '../secrets/keyring';
import { type AdminClientOptions, addAdminClientOptions, adminClientFromOptions, printResult, printTable } from './admin-client';
import { checkedOption } from './checked-option';

interface EnvOption extends AdminClientOptions {
  environment?: string;
}
const envOption = () => new Option('--environment <name>', 'Puppet environment (default: the broker default)');
const withEnv = (path: string, o: EnvOption) => `${path}${o.environment ? `?environment=${encodeURIComponent(o.environment)}` : ''}`;
const factPath = (category: string, name: string, tail: string) =>
  `/admin/v1/audit/facts/${encodeURIComponent(category)}/${encodeURIComponent(name)}/${tail}`;

type Row = Record<string, unknown>;

/**
 * The fingerprints a leaked value could have: the file's text as a string, and, when the text is
 * JSON, that value too. Computed here with the keyring's fingerprint key: the value never travels.
 */
export async function leakFingerprints(keyring: Keyring, text: string): Promise<string[]> {
  const candidates: unknown[] = [text.replace(/\r?\n$/, '')];
  try {
    candidates.push(JSON.parse(text));
  } catch {
    /* not JSON: the string is the only candidate */
  }
  const prints = await Promise.all(candidates.map((c) => fingerprint(keyring.fingerprintKey, c)));
  return [...new Set(prints.map((p) => p.toString('hex')))];
}

export function auditCommand(): Command {
  const audit = new Command('audit').description(
    'who saw which credential, what changed, and whether the trail is intact (admin API, scope audit:read)',
  );

  audit.addCommand(whoSawCommand());

  audit.addCommand(notCurrentCommand());

  audit.addCommand(nodeCommand());

  audit.addCommand(eventsCommand());

  audit.addCommand(leakedCommand());

  audit.addCommand(verifyCommand());

  audit.addCommand(pruneCommand());

  return audit;
}

function whoSawCommand(): Command {
  return addAdminClientOptions(new Command('who-saw').description('which nodes fetched a secret, per version'))
    .argument('<category>')
    .argument('<name>')
    .addOption(envOption())
    .action(async (category: string, name: string, o: EnvOption) => {
      const reply = await adminClientFromOptions(o).request<{ sightings: Row[] }>('GET', withEnv(factPath(category, name, 'sightings'), o));
      printResult(o, reply, () =>
        printTable(reply.sightings, [
          { header: 'version', align: 'right' },
          { header: 'state' },
          { header: 'certname' },
          { header: 'first_seen' },
          { header: 'last_seen' },
          { header: 'count', align: 'right' },
        ]),
      );
    });
}

function notCurrentCommand(): Command {
  return addAdminClientOptions(
    new Command('not-current').description('nodes that fetched an older version of a secret but not the current one'),
  )
    .argument('<category>')
    .argument('<name>')
    .addOption(envOption())
    .action(async (category: string, name: string, o: EnvOption) => {
      const reply = await adminClientFromOptions(o).request<{ nodes: Row[] }>('GET', withEnv(factPath(category, name, 'not-current'), o));
      printResult(o, reply, () =>
        printTable(reply.nodes, [{ header: 'certname' }, { header: 'newest_version', align: 'right' }, { header: 'last_seen' }]),
      );
    });
}

function nodeCommand(): Command {
  return addAdminClientOptions(new Command('node').description('which secrets, and which versions, a node fetched'))
    .argument('<certname>')
    .addOption(checkedOption('--since <time>', 'only sightings since this time (ISO 8601)', isoTime))
    .action(async (certname: string, o: AdminClientOptions & { since?: string }) => {
      const reply = await adminClientFromOptions(o).request<{ sightings: Row[] }>(
        'GET',
        `/admin/v1/audit/nodes/${encodeURIComponent(certname)}/sightings${o.since ? `?since=${encodeURIComponent(o.since)}` : ''}`,
      );
      printResult(o, reply, () =>
        printTable(reply.sightings, [
          { header: 'environment' },
          { header: 'category' },
          { header: 'name' },
          { header: 'version', align: 'right' },
          { header: 'state' },
          { header: 'first_seen' },
          { header: 'last_seen' },
          { header: 'count', align: 'right' },
        ]),
      );
    });
}

function eventsCommand(): Command {
  return addAdminClientOptions(new Command('events').description('the event log, newest first'))
    .addOption(checkedOption('--since <time>', 'ISO 8601 (2026-11-29, 2026-11-29T08:00:00Z)', isoTime))
    .addOption(checkedOption('--until <time>', 'ISO 8601', isoTime))
    .option('--actor <name>', 'a certname or admin subject')
    .addOption(envOption())
    .option('--category <category>')
    .option('--name <name>')
    .option('--action <prefix>', 'e.g. fact., secret.rotate, access.refused')
    .addOption(checkedOption('--limit <n>', 'at most this many (1 to 10000)', wholeNumber(1, 10_000)).default('100'))
    .action(async (o: EnvOption & Record<string, string | undefined>) => {
      const params = new URLSearchParams();
      for (const k of ['since', 'until', 'actor', 'environment', 'category', 'name', 'action', 'limit'])
        if (o[k]) params.set(k, o[k] as string);
      const reply = await adminClientFromOptions(o).request<{ events: Row[] }>('GET', `/admin/v1/audit/events?${params}`);
      printResult(o, reply, () =>
        printTable(reply.events, [
          { header: 'seq', align: 'right' },
          { header: 'at' },
          { header: 'actor', value: (e) => `${e.actor_kind}:${e.actor}` },
          { header: 'action' },
          { header: 'fact', value: (e) => (e.category ? `${e.environment}/${e.category}.${e.name}` : '-') },
          { header: 'version', align: 'right' },
          { header: 'count', align: 'right' },
        ]),
      );
    });
}

function leakedCommand(): Command {
  return addAdminClientOptions(
    new Command('leaked').description('after a leak: which secret version a value is, and which nodes received it (no decryption)'),
  )
    .requiredOption('--value-file <file>', 'the leaked value')
    .addOption(
      new Option('--keyring <file>', "the broker's keyring (its fingerprint key)").env('EXPORTFACT_KEYRING').default('keyring.json'),
    )
    .action(async (o: AdminClientOptions & { valueFile: string; keyring: string }) => {
      let text: string;
      try {
        text = fs.readFileSync(o.valueFile, 'utf8');
      } catch {
        throw new ConfigError(`--value-file ${o.valueFile} is not readable`);
      }
      const fingerprints = await leakFingerprints(Keyring.load(o.keyring), text);
      const reply = await adminClientFromOptions(o).request<{ matches: (Row & { received_by: Row[] })[] }>(
        'POST',
        '/admin/v1/audit/leaked',
        { fingerprints },
      );
      printResult(o, reply, () => {
        if (!reply.matches.length) return void process.stdout.write('no secret held by the broker has this value\n');
        for (const m of reply.matches) {
          process.stdout.write(
            `${m.environment}/${m.category}.${m.name} version ${m.version} (${m.state}, exported by ${m.exporter}, created ${m.created_at}) was received by:\n`,
          );
          printTable(m.received_by, [
            { header: 'certname' },
            { header: 'first_seen' },
            { header: 'last_seen' },
            { header: 'count', align: 'right' },
          ]);
        }
      });
    });
}

function verifyCommand(): Command {
  return addAdminClientOptions(
    new Command('verify').description('walk the hash chain and the signed heads; name the first altered, missing or reordered entry'),
  ).action(async (o: AdminClientOptions) => {
    const report = await adminClientFromOptions(o).request<{
      ok: boolean;
      events: number;
      signed_through: number | null;
      unsigned_tail: number;
      untrusted_heads: number;
      problems: { seq: number; message: string }[];
    }>('GET', '/admin/v1/audit/verify');
    printResult(o, report, () => {
      process.stdout.write(
        `${report.events} entries, signed through entry ${report.signed_through ?? '-'}, ${report.unsigned_tail} after it not yet signed\n`,
      );
      for (const p of report.problems) process.stdout.write(`PROBLEM at entry ${p.seq}: ${p.message}\n`);
      process.stdout.write(report.ok ? 'audit trail intact\n' : 'audit trail NOT intact\n');
    });
    if (!report.ok) process.exitCode = 1;
  });
}

function pruneCommand(): Command {
  return addAdminClientOptions(
    new Command('prune').description('delete entries older than a date, keeping a signed anchor (scope audit:prune)'),
  )
    .addOption(checkedOption('--before <time>', 'ISO 8601', isoTime).makeOptionMandatory())
    .action(async (o: AdminClientOptions & { before: string }) => {
      const reply = await adminClientFromOptions(o).request<{ pruned: number; anchor_seq: number | null }>(
        'POST',
        '/admin/v1/audit/prune',
        { before: o.before },
      );
      printResult(o, reply, () =>
        process.stdout.write(`pruned ${reply.pruned} entries; verification now starts at the signed entry ${reply.anchor_seq ?? '-'}\n`),
      );
    });
}
