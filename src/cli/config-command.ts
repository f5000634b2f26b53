import { Command } from 'commander';
import { mergeOptionSources, withFileLines } from '../config/option-sources';
import { devCaFiles, devCaFolder, parseServeOptions, type ServeOptions } from '../config/serve-config';
import { addServeOptions, attributeName, longName, SERVE_OPTIONS } from '../config/serve-options';
import { printTable } from './admin-client';

/** `exportfact config check FILE`: what `serve --config FILE` would run with, and where each value comes from. */
export function configCommand(): Command {
  const config = new Command('config').description('the configuration file of `serve`');
  config.addCommand(
    addServeOptions(new Command('check'))
      .description(
        'check a configuration file and print the effective configuration (file merged with the environment and any flags given here)',
      )
      .argument('<file>', 'the YAML file, keys named as the long options of serve')
      .option('--json', 'print JSON')
      .action((file: string, _o: unknown, cmd: Command) => {
        cmd.setOptionValueWithSource('config', file, 'cli');
        const merged = mergeOptionSources(cmd);
        const o = merged.values as ServeOptions & { json?: boolean };
        const devCaDir = devCaFolder(o);
        // Checks every value as serve would, without opening a file or the store.
        withFileLines(merged, () => parseServeOptions(o, devCaDir === undefined ? undefined : devCaFiles(devCaDir)));
        const rows = SERVE_OPTIONS.filter((s) => longName(s) !== 'config').map((spec) => {
          const attribute = attributeName(spec);
          const value = o[attribute as keyof ServeOptions];
          return {
            option: longName(spec),
            value: value === undefined ? '(default)' : Array.isArray(value) ? value.join(',') : redacted(longName(spec), String(value)),
            source: merged.sources.get(attribute) ?? 'default',
            where: merged.where.get(attribute) ?? '',
          };
        });
        if (o.json) process.stdout.write(`${JSON.stringify({ file, ok: true, options: rows }, null, 2)}\n`);
        else {
          process.stdout.write(`${file}: ok\n`);
          printTable(
            rows.filter((r) => r.source !== 'default'),
            [{ header: 'option' }, { header: 'value' }, { header: 'source' }, { header: 'where' }],
          );
        }
      }),
  );
  return config;
}

/** A password given through the environment is never printed (the file itself refuses one). */
function redacted(option: string, value: string): string {
  if (option !== 'database-url') return value;
  try {
    const url = new URL(value);
    if (url.password) url.password = 'redacted';
    for (const key of [...url.searchParams.keys()]) if (key.toLowerCase() === 'password') url.searchParams.set(key, 'redacted');
    return url.toString();
  } catch {
    return value;
  }
}
