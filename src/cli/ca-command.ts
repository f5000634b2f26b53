import { Command } from 'commander';
import { type DevNodeOptions, ensureDevCa, issueDevNode, revokeDevNode } from '../devca/dev-ca';
import { ConfigError } from '../errors/config-error';
import { certnameProblem } from '../schemas/certname';
import { puppetExtensionOid } from '../tls/certificate';

/** `NAME[:ext=value,ext=value]`, e.g. `db1.example.com:pp_role=database,pp_environment=production`. */
export function parseNodeSpec(spec: string): DevNodeOptions {
  const [certname, exts] = spec.split(':', 2);
  const problem = certnameProblem('certname', certname);
  if (problem) throw new ConfigError(`--node ${JSON.stringify(spec)}: ${problem}`);
  const extensions: Record<string, string> = {};
  for (const pair of exts ? exts.split(',') : []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--node ${JSON.stringify(spec)}: ${JSON.stringify(pair)} is not ext=value`);
    const name = pair.slice(0, eq);
    try {
      puppetExtensionOid(name);
    } catch (err) {
      throw new ConfigError(`--node ${JSON.stringify(spec)}: ${(err as Error).message}`);
    }
    extensions[name] = pair.slice(eq + 1);
  }
  return { certname, extensions };
}

const collect = (v: string, acc: string[]) => [...acc, v];

export function caCommand(): Command {
  const ca = new Command('ca').description('development CA (node-forge): not for production, use the Puppet CA there');
  ca.command('init')
    .description('create a development CA, a server certificate for localhost and node ssldirs')
    .option('--dir <dir>', 'where to write it', 'certs')
    .option('--node <spec>', 'node to issue, NAME[:pp_role=x,pp_environment=y] (repeatable)', collect, [])
    .action(async (o: { dir: string; node: string[] }) => {
      const { paths, created, nodes } = await ensureDevCa(o.dir, o.node.map(parseNodeSpec));
      process.stdout.write(`${created ? 'created' : 'kept existing'} CA ${paths.caCert}; nodes: ${nodes.join(', ') || 'none'}\n`);
    });
  ca.command('issue')
    .description('issue a node certificate as a Puppet-style ssldir in DIR/nodes/NAME')
    .option('--dir <dir>', 'CA folder', 'certs')
    .requiredOption('--node <spec>', 'NAME[:pp_role=x,pp_environment=y]')
    .action(async (o: { dir: string; node: string }) => {
      process.stdout.write(`${await issueDevNode(o.dir, parseNodeSpec(o.node))}\n`);
    });
  ca.command('revoke')
    .description("revoke a node's certificate (rewrites DIR/crl.pem; a running broker reloads it)")
    .option('--dir <dir>', 'CA folder', 'certs')
    .argument('<certname>')
    .action(async (certname: string, o: { dir: string }) => {
      await revokeDevNode(o.dir, certname);
      process.stdout.write(`revoked ${certname}\n`);
    });
  return ca;
}
