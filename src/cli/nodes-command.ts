import { Command, Option } from 'commander';
import { ConfigError } from '../errors/config-error';
import { type AdminClientOptions, addAdminClientOptions, adminClientFromOptions, confirm, printResult, printTable } from './admin-client';

interface NodeReply {
  certname: string;
  environment: string;
  state: string;
  state_since: string;
  state_reason: string | null;
  first_seen: string;
  last_seen: string;
}

const nodePath = (certname: string, tail = '') => `/admin/v1/nodes/${encodeURIComponent(certname)}${tail}`;

/** `exportfact nodes …`: the node lifecycle over the admin API (scopes nodes:read, nodes:write). */
export function nodesCommand(): Command {
  return new Command('nodes')
    .description('nodes the broker knows: active, deactivated or expired; deactivate or purge them (admin API)')
    .addCommand(listCommand())
    .addCommand(showCommand())
    .addCommand(deactivateCommand())
    .addCommand(purgeCommand());
}

function listCommand(): Command {
  return addAdminClientOptions(new Command('list').description('every node, with its state and last contact'))
    .addOption(new Option('--state <state>', 'only nodes in this state').choices(['active', 'deactivated', 'expired']))
    .option('--environment <name>', 'only nodes of this environment')
    .action(async (o: AdminClientOptions & { state?: string; environment?: string }) => {
      const query = new URLSearchParams();
      if (o.state) query.set('state', o.state);
      if (o.environment) query.set('environment', o.environment);
      const reply = await adminClientFromOptions(o).request<{ nodes: NodeReply[] }>(
        'GET',
        `/admin/v1/nodes${query.size ? `?${query}` : ''}`,
      );
      printResult(o, reply, () =>
        printTable(reply.nodes, [
          { header: 'certname' },
          { header: 'environment' },
          { header: 'state' },
          { header: 'state_since' },
          { header: 'last_seen' },
        ]),
      );
    });
}

function showCommand(): Command {
  return addAdminClientOptions(new Command('show').description('a node: state, what it exports, which secrets it saw, last contact'))
    .argument('<certname>')
    .action(async (certname: string, o: AdminClientOptions) => {
      const reply = await adminClientFromOptions(o).request<
        NodeReply & {
          exports: { environment: string; category: string; name: string; version: number; sensitive: boolean }[];
          secrets_seen: Record<string, unknown>[];
        }
      >('GET', nodePath(certname));
      printResult(o, reply, () => {
        process.stdout.write(
          `${reply.certname} (${reply.environment}): ${reply.state} since ${reply.state_since}${reply.state_reason ? ` (${reply.state_reason})` : ''}\n`,
        );
        process.stdout.write(`first seen ${reply.first_seen}, last seen ${reply.last_seen}\n\nexports:\n`);
        printTable(reply.exports, [
          { header: 'environment' },
          { header: 'category' },
          { header: 'name' },
          { header: 'version', align: 'right' },
          { header: 'sensitive' },
        ]);
        process.stdout.write('\nsecrets seen:\n');
        printTable(reply.secrets_seen, [
          { header: 'environment' },
          { header: 'category' },
          { header: 'name' },
          { header: 'version', align: 'right' },
          { header: 'last_seen' },
        ]);
      });
    });
}

function deactivateCommand(): Command {
  return addAdminClientOptions(
    new Command('deactivate').description(
      'retire a node: its facts leave every view at once (it comes back if it contacts the broker again)',
    ),
  )
    .argument('<certname>')
    .option('--reason <text>', 'recorded in the audit trail')
    .action(async (certname: string, o: AdminClientOptions & { reason?: string }) => {
      const reply = await adminClientFromOptions(o).request<{ certname: string; state: string }>(
        'POST',
        nodePath(certname, '/deactivate'),
        o.reason ? { reason: o.reason } : {},
      );
      printResult(o, reply, () => process.stdout.write(`${reply.certname}: ${reply.state}\n`));
    });
}

function purgeCommand(): Command {
  return addAdminClientOptions(new Command('purge').description("delete a node's facts for good (history and audit entries stay)"))
    .argument('<certname>')
    .option('--yes', 'do not ask for confirmation')
    .action(async (certname: string, o: AdminClientOptions & { yes?: boolean }) => {
      if (!o.yes && !(await confirm(`Delete every fact ${certname} exports, for good?`, 'purge a node')))
        throw new ConfigError('not confirmed; nothing purged');
      const reply = await adminClientFromOptions(o).request<{ certname: string; withdrawn: number }>(
        'POST',
        nodePath(certname, '/purge'),
        {},
      );
      printResult(o, reply, () => process.stdout.write(`${reply.certname}: purged, ${reply.withdrawn} values withdrawn\n`));
    });
}
