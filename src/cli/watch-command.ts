import path from 'node:path';
import { Command, Option } from 'commander';
import { ConfigError } from '../errors/config-error';
import { MAX_WAIT_MS, waitDuration } from '../facts/view-waiters';
import { readOptionFile } from '../files/file-errors';
import { certnameProblem } from '../schemas/certname';
import { factNameProblem } from '../schemas/fact-name';
import { ViewWatcher, WatchFailure, type WatchTarget } from './view-watcher';

/** Where Puppet keeps its certificates on a node (`puppet config print ssldir`). */
const PUPPET_SSLDIR = '/etc/puppetlabs/puppet/ssl';
const DEFAULT_URL = 'https://127.0.0.1:8150';

interface WatchOptions {
  ssldir: string;
  certname: string;
  serverUrl: string[];
  category?: string;
  exec: string;
  wait: string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function watchCommand(): Command {
  return new Command('watch')
    .description("run a command with this node's view of the facts (JSON on stdin) at start and each time it changes, until stopped")
    .addOption(
      new Option('--ssldir <dir>', "Puppet's ssldir: certs/ca.pem, certs/CERTNAME.pem and private_keys/CERTNAME.pem").default(
        PUPPET_SSLDIR,
      ),
    )
    .requiredOption('--certname <name>', "the node's certname (`puppet config print certname`)")
    .addOption(
      new Option('--server-url <url>', `a broker; repeat it for failover, tried in order (default ${DEFAULT_URL})`).argParser(collect),
    )
    .option('--category <category>', 'watch one category only (GET /v1/facts/CATEGORY)')
    .requiredOption('--exec <command>', 'run by /bin/sh with the view as JSON on stdin (EXPORTFACT_ETAG names the view)')
    .option('--wait <duration>', `how long the broker holds each request: 30s, 5m, plain seconds (at most ${MAX_WAIT_MS / 1000}s)`, '60s')
    .action(async (o: WatchOptions) => {
      const target = watchTarget(o);
      const watcher = new ViewWatcher(target);
      const stop = () => watcher.stop();
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      try {
        await watcher.run();
      } catch (err) {
        if (!(err instanceof WatchFailure)) throw err;
        target.log(err.message);
        process.exit(1);
      }
      process.exit(0);
    });
}

/** Every option checked before anything is sent: a mistake is one line naming the option (exit 2). */
function watchTarget(o: WatchOptions): WatchTarget {
  const certProblem = certnameProblem('--certname', o.certname);
  if (certProblem) throw new ConfigError(certProblem);
  const categoryProblem = o.category === undefined ? null : factNameProblem('--category', o.category);
  if (categoryProblem) throw new ConfigError(categoryProblem);
  const waitMs = waitDuration(o.wait);
  if (!waitMs || waitMs < 1000) {
    throw new ConfigError(`--wait ${JSON.stringify(o.wait)} must be a duration from 1s to ${MAX_WAIT_MS / 1000}s, like 30s, 5m or 60`);
  }
  if (!o.exec.trim()) throw new ConfigError('--exec needs a command');
  const urls = (o.serverUrl?.length ? o.serverUrl : [DEFAULT_URL]).map((raw) => {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new ConfigError(`--server-url ${JSON.stringify(raw)} is not a URL (expected ${DEFAULT_URL})`);
    }
    if (url.protocol !== 'https:') throw new ConfigError(`--server-url must be an https:// URL, not ${url.protocol}//`);
    return url.href.replace(/\/+$/, '');
  });
  const file = (...parts: string[]) => path.join(o.ssldir, ...parts);
  return {
    urls,
    path: o.category ? `/v1/facts/${o.category}` : '/v1/facts',
    waitMs,
    tls: {
      ca: readOptionFile('--ssldir (CA certificate)', file('certs', 'ca.pem')),
      cert: readOptionFile('--ssldir (node certificate)', file('certs', `${o.certname}.pem`)),
      key: readOptionFile('--ssldir (private key)', file('private_keys', `${o.certname}.pem`)),
    },
    command: o.exec,
    log: (line) => process.stderr.write(`${new Date().toISOString()} exportfact watch: ${line}\n`),
  };
}
