import type { Command } from 'commander';
import { ConfigError } from '../errors/config-error';
import { readConfigFile } from './config-file';
import { attributeName, longName, SERVE_OPTIONS } from './serve-options';

export type OptionSource = 'flag' | 'environment' | 'file' | 'default';

export interface MergedOptions {
  /** As commander names them (camelCase), strings as given. */
  values: Record<string, unknown>;
  /** Where each value came from; options left to their default are absent. */
  sources: Map<string, OptionSource>;
  /** `file:line` of the values taken from the configuration file. */
  where: Map<string, string>;
}

/**
 * The options of a parsed `serve` (or `config check`) command, with the configuration file
 * merged in: a flag wins over the environment, which wins over the file; what none of them
 * sets keeps its default (applied by parseServeOptions).
 */
export function mergeOptionSources(cmd: Command): MergedOptions {
  const values: Record<string, unknown> = { ...cmd.opts() };
  const sources = new Map<string, OptionSource>();
  for (const spec of SERVE_OPTIONS) {
    const source = cmd.getOptionValueSource(attributeName(spec));
    if (source === 'cli') sources.set(attributeName(spec), 'flag');
    else if (source === 'env') sources.set(attributeName(spec), 'environment');
  }
  const where = new Map<string, string>();
  const file = typeof values.config === 'string' ? readConfigFile(values.config) : undefined;
  for (const [attribute, value] of file?.values ?? []) {
    if (sources.has(attribute)) continue;
    values[attribute] = value;
    sources.set(attribute, 'file');
    where.set(attribute, file!.where.get(attribute)!);
  }
  return { values, sources, where };
}

/**
 * Runs `parse` on merged options; a ConfigError about an option whose value came from the
 * configuration file is re-worded to point at the file's line.
 */
export function withFileLines<T>(merged: MergedOptions, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const named = /^--([a-z-]+)/.exec(err.message)?.[1];
    const spec = SERVE_OPTIONS.find((s) => longName(s) === named);
    const where = spec && merged.where.get(attributeName(spec));
    if (!where) throw err;
    throw new ConfigError(`${where}: ${err.message.replace(/^--/, '')}`);
  }
}
