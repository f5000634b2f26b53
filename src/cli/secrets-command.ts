import fs from 'node:fs';
import { Command, Option } from 'commander';
import { ConfigError } from '../errors/config-error';
import { type AdminClientOptions, addAdminClientOptions, adminClientFromOptions, confirm, printResult, printTable } from './admin-client';

interface SecretOptions extends AdminClientOptions {
  environment?: string;
}

const envOption = () => new Option('--environment <name>', 'Puppet environment of the secret (default: the broker default)');
const path = (category: string, name: string, tail = '', o: SecretOptions = {}) =>
  `/admin/v1/secrets/${encodeURIComponent(category)}/${encodeURIComponent(name)}${tail}${o.environment ? `?environment=${encodeURIComponent(o.environment)}` : ''}`;

interface StatusReply {
  versions: {
    exporter: string;
    version: number;
    state: string;
    key_id: string | null;
    created_at: string;
    expires_at: string | null;
    seen_by: { certname: string; last_seen: string; count: number }[];
  }[];
  not_yet_current: string[];
}

/** `exportfact secrets …`: thin commands over the admin API. */
export function secretsCommand(): Command {
  const secrets = new Command('secrets').description('secrets held by the broker (through the admin API)');

  secrets.addCommand(listCommand());

  secrets.addCommand(showCommand());

  secrets.addCommand(statusCommand());

  secrets.addCommand(rotateCommand());

  secrets.addCommand(promoteCommand());

  return secrets;
}

function listCommand(): Command {
  return addAdminClientOptions(new Command('list').description('list secrets: versions and exporters, never values'))
    .addOption(envOption())
    .action(async (o: SecretOptions) => {
      const reply = await adminClientFromOptions(o).request<{ secrets: Record<string, unknown>[] }>(
        'GET',
        `/admin/v1/secrets${o.environment ? `?environment=${encodeURIComponent(o.environment)}` : ''}`,
      );
      printResult(o, reply, () =>
        printTable(reply.secrets, [
          { header: 'environment' },
          { header: 'category' },
          { header: 'name' },
          { header: 'generated' },
          { header: 'current', value: (r) => r.current_version, align: 'right' },
          { header: 'versions', align: 'right' },
          { header: 'exporters', value: (r) => (r.exporters as string[]).join(',') },
        ]),
      );
    });
}

function showCommand(): Command {
  return addAdminClientOptions(new Command('show').description('print a secret value (asks for confirmation; the read is audited)'))
    .argument('<category>')
    .argument('<name>')
    .addOption(envOption())
    .option('--version <n>', 'a given version instead of the current one')
    .option('--yes', 'do not ask for confirmation')
    .action(async (category: string, name: string, o: SecretOptions & { version?: string; yes?: boolean }) => {
      if (!o.yes && !(await confirm(`Print the value of ${category}.${name}? The read is recorded.`, 'print a secret')))
        throw new ConfigError('not confirmed; nothing read');
      const query = o.version ? `${o.environment ? '&' : '?'}version=${encodeURIComponent(o.version)}` : '';
      const reply = await adminClientFromOptions(o).request<{
        values: { exporter: string; version: number; state: string; value: unknown }[];
      }>('GET', path(category, name, '', o) + query);
      printResult(o, reply, () => {
        for (const v of reply.values) process.stdout.write(`${typeof v.value === 'string' ? v.value : JSON.stringify(v.value)}\n`);
      });
    });
}

function statusCommand(): Command {
  return addAdminClientOptions(
    new Command('status').description('per version: who fetched it; and who has not fetched the current one yet'),
  )
    .argument('<category>')
    .argument('<name>')
    .addOption(envOption())
    .action(async (category: string, name: string, o: SecretOptions) => {
      const reply = await adminClientFromOptions(o).request<StatusReply>('GET', path(category, name, '/status', o));
      printResult(o, reply, () => {
        printTable(reply.versions, [
          { header: 'version', align: 'right' },
          { header: 'state' },
          { header: 'exporter' },
          { header: 'key', value: (v) => v.key_id },
          { header: 'expires', value: (v) => v.expires_at },
          { header: 'fetched by', value: (v) => v.seen_by.map((s) => `${s.certname}(${s.count})`).join(' ') || '-' },
        ]);
        process.stdout.write(`\nnot yet on the current version: ${reply.not_yet_current.join(' ') || 'none'}\n`);
      });
    });
}

function rotateCommand(): Command {
  return addAdminClientOptions(
    new Command('rotate').description('rotate a broker-generated secret: a new generated value, or one from a file'),
  )
    .argument('<category>')
    .argument('<name>')
    .addOption(envOption())
    .option('--value-file <file>', 'take the new value from this file (trailing newline dropped) instead of generating one')
    .option('--pending', 'make the new version pending: readable only when pinned, until `secrets promote`')
    .action(async (category: string, name: string, o: SecretOptions & { valueFile?: string; pending?: boolean }) => {
      let value: string | undefined;
      if (o.valueFile) {
        try {
          value = fs.readFileSync(o.valueFile, 'utf8').replace(/\r?\n$/, '');
        } catch {
          throw new ConfigError(`--value-file ${o.valueFile} is not readable`);
        }
      }
      const reply = await adminClientFromOptions(o).request<{ version: number; state: string }>(
        'POST',
        path(category, name, '/rotate', o),
        { value, pending: !!o.pending },
      );
      printResult(o, reply, () => process.stdout.write(`${category}.${name}: version ${reply.version} is ${reply.state}\n`));
    });
}

function promoteCommand(): Command {
  return addAdminClientOptions(new Command('promote').description('make a pending version current'))
    .argument('<category>')
    .argument('<name>')
    .argument('<version>')
    .addOption(envOption())
    .action(async (category: string, name: string, version: string, o: SecretOptions) => {
      const reply = await adminClientFromOptions(o).request<{ version: number; state: string }>(
        'POST',
        path(category, name, '/promote', o),
        { version: Number(version) },
      );
      printResult(o, reply, () => process.stdout.write(`${category}.${name}: version ${reply.version} is ${reply.state}\n`));
    });
}
