import { closest, distance } from 'fastest-levenshtein';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Scalar } from 'yaml';
import { ConfigError } from '../errors/config-error';
import { readOptionFile } from '../files/file-errors';
import { attributeName, longName, SERVE_OPTIONS, type ServeOptionSpec } from './serve-options';

/** What a configuration file sets: commander attribute → value, and where each was set. */
export interface ConfigFileValues {
  file: string;
  values: Map<string, string | boolean | string[]>;
  /** `file:line` of each key, for messages about its value. */
  where: Map<string, string>;
}

const BY_KEY = new Map(SERVE_OPTIONS.filter((s) => longName(s) !== 'config').map((s) => [longName(s), s]));

/**
 * Reads `exportfact.yaml`: a mapping whose keys are serve's long option names
 * (`database-url: postgres://…`). Unknown keys and bad values are refused with file:line.
 * It holds no secret: key material stays in its own 0600 files (the keyring, the signing
 * keys), and a database password in ~/.pgpass or PGPASSWORD, so a URL with one is refused.
 */
export function readConfigFile(file: string): ConfigFileValues {
  const text = readOptionFile('--config', file);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number | undefined) => `${file}:${offset === undefined ? 1 : lines.linePos(offset).line}`;
  const [error] = doc.errors;
  if (error) throw new ConfigError(`${at(error.pos[0])}: not valid YAML: ${error.message.split('\n')[0]}`);
  const out: ConfigFileValues = { file, values: new Map(), where: new Map() };
  if (doc.contents === null) return out; // an empty file sets nothing
  if (!isMap(doc.contents))
    throw new ConfigError(`${at(doc.contents.range?.[0])}: a configuration file is a mapping of option names to values`);
  for (const pair of doc.contents.items) {
    const keyNode = pair.key as Scalar | null;
    const key = isScalar(keyNode) ? String(keyNode.value) : '';
    const where = at(keyNode?.range?.[0]);
    const spec = BY_KEY.get(key);
    if (!spec) throw new ConfigError(`${where}: unknown key ${JSON.stringify(key)}${suggestion(key)}; keys are serve's long option names`);
    const value = optionValue(spec, pair.value, where);
    if (key === 'database-url' && typeof value === 'string' && hasPassword(value)) {
      throw new ConfigError(
        `${where}: database-url holds a password; the configuration file holds no secret: put it in ~/.pgpass of the broker's user (or PGPASSWORD)`,
      );
    }
    out.values.set(attributeName(spec), value);
    out.where.set(attributeName(spec), where);
  }
  return out;
}

function optionValue(spec: ServeOptionSpec, node: unknown, where: string): string | boolean | string[] {
  const key = longName(spec);
  if (spec.list) {
    const items = isSeq(node) ? node.items : [node];
    return items.flatMap((item) => {
      if (!isScalar(item) || item.value === null || typeof item.value === 'object')
        throw new ConfigError(`${where}: ${key} takes a list of names`);
      return String(item.value)
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean);
    });
  }
  if (!isScalar(node) || node.value === null || typeof node.value === 'object')
    throw new ConfigError(`${where}: ${key} takes one value (a string or number)`);
  // `dev-ca: true` is the flag without a folder; any other boolean is a mistake.
  if (typeof node.value === 'boolean') {
    if (key === 'dev-ca') return node.value;
    throw new ConfigError(`${where}: ${key} takes a value, not ${node.value}`);
  }
  return String(node.value);
}

/** A password in the URL's user part, or as a `password=` parameter (libpq's other spelling). */
function hasPassword(url: string): boolean {
  try {
    const u = new URL(url);
    return u.password !== '' || [...u.searchParams.keys()].some((k) => k.toLowerCase() === 'password');
  } catch {
    return false; // parseServeOptions names a URL that does not parse
  }
}

/** " (did you mean x?)" for a key one or two edits away from a known one. */
function suggestion(key: string): string {
  const close = closest(key, [...BY_KEY.keys()]);
  return distance(key, close) <= 2 ? ` (did you mean ${close}?)` : '';
}
