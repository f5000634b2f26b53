import { Command } from 'commander';
import { startBroker } from '../broker';
import { mergeOptionSources, withFileLines } from '../config/option-sources';
import { devCaFiles, devCaFolder, parseServeOptions, type ServeOptions } from '../config/serve-config';
import { addServeOptions } from '../config/serve-options';
import { ensureDevCa } from '../devca/dev-ca';
import { createLogger } from '../log/logger';
import { printDevCaHelp } from './dev-ca-help';

/** Nodes the development CA issues on first start, so the README's curl line works at once. */
export const EXAMPLE_NODES = [
  { certname: 'db.example.com', extensions: { pp_role: 'database', pp_environment: 'production' } },
  { certname: 'keystone.example.com', extensions: { pp_role: 'keystone', pp_environment: 'production' } },
  { certname: 'compute1.example.com', extensions: { pp_role: 'compute', pp_environment: 'production' } },
];

export function serveCommand(): Command {
  return addServeOptions(new Command('serve'))
    .description('run the broker (embedded store in --data-dir unless --database-url is given)')
    .action(async (_o: ServeOptions, cmd: Command) => {
      const merged = mergeOptionSources(cmd);
      const o = merged.values as ServeOptions;
      const devCaDir = devCaFolder(o);
      const config = withFileLines(merged, () => parseServeOptions(o, devCaDir === undefined ? undefined : devCaFiles(devCaDir)));
      const log = createLogger(config.log);
      if (devCaDir && (await ensureDevCa(devCaDir, EXAMPLE_NODES)).created) log.info({ dir: devCaDir }, 'development CA created');
      const broker = await startBroker(config, log);
      if (devCaDir) printDevCaHelp(devCaDir, broker.url, EXAMPLE_NODES[0].certname);
      const stop = (signal: string) => {
        log.info({ signal }, 'shutting down');
        broker.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.on('SIGHUP', () => void broker.reload());
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });
}
