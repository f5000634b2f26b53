import { factNameProblem } from '../schemas/fact-name';
import { jsonValueProblem } from '../schemas/json-value';
import type { PuppetdbResource } from './puppetdb-client';

/**
 * What the old exportfact module (0.1.x) left in PuppetDB, read back as facts. Its
 * `exportfact::export { NAME: value => V, category => C }` exported two resources:
 *
 *   @@augeas    { "fact_NAME_lin": incl => ".../facts.d/C.txt", changes => "set NAME V", tag => ["fact_C", "RedHat"] }
 *   @@file_line { "fact_NAME_win": path => ".../facts.d/C.txt", line => "NAME=V",        tag => ["fact_C", "windows"] }
 *
 * (releases before the Windows twin titled the Augeas resource "fact_NAME"). One export is
 * one fact: the twins are read as one, the Augeas resource winning (Linux readers applied it).
 */
export interface OldExport {
  node: string;
  category: string;
  name: string;
  /** The value as the manifest gave it (a string: the old module interpolated it into text). */
  value: string;
  /** The PuppetDB resources it was read from, `Type[title]`. */
  resources: string[];
}

/** A resource that is not what the old module exports: nothing is imported from it. */
export interface ExportProblem {
  node: string;
  resource: string;
  message: string;
}

export interface ReadExports {
  exports: OldExport[];
  problems: ExportProblem[];
  /** Imported, with something the operator should know (never a value). */
  warnings: ExportProblem[];
}

/** A value larger than this is no fact: a publish carries at most this much (the request body limit). */
export const MAX_IMPORTED_VALUE_BYTES = 256 * 1024;

const ref = (r: PuppetdbResource) => `${r.type}[${r.title}]`;

/** Reads the old module's exports out of PuppetDB resources; everything else becomes a problem naming the resource. */
export function readOldExports(resources: PuppetdbResource[]): ReadExports {
  const problems: ExportProblem[] = [];
  const warnings: ExportProblem[] = [];
  const byKey = new Map<string, { augeas?: Parsed; fileLine?: Parsed }>();
  for (const resource of resources) {
    const parsed = resource.type === 'Augeas' ? fromAugeas(resource) : resource.type === 'File_line' ? fromFileLine(resource) : undefined;
    if (!parsed) continue;
    if (typeof parsed === 'string') {
      problems.push({ node: resource.certname, resource: ref(resource), message: parsed });
      continue;
    }
    const key = `${parsed.node}\0${parsed.category}\0${parsed.name}`;
    const twins = byKey.get(key) ?? byKey.set(key, {}).get(key)!;
    twins[resource.type === 'Augeas' ? 'augeas' : 'fileLine'] = parsed;
  }
  const exports: OldExport[] = [];
  for (const { augeas, fileLine } of byKey.values()) {
    const { cutByAugeas, ...chosen } = augeas ?? fileLine!;
    const resources = [augeas, fileLine].flatMap((e) => (e ? e.resources : []));
    if (augeas && fileLine && augeas.value !== fileLine.value) {
      warnings.push({
        node: chosen.node,
        resource: resources.join(', '),
        message: `the Augeas and File_line twins of ${chosen.category}.${chosen.name} hold different values; the Augeas one is imported (what Linux readers applied)`,
      });
    }
    if (augeas && cutByAugeas) {
      warnings.push({
        node: chosen.node,
        resource: augeas.resources[0],
        message: `the value of ${chosen.category}.${chosen.name} holds whitespace: the old module's readers got only its first word (Augeas cut it there); it is imported whole, as the manifest gave it`,
      });
    }
    exports.push({ ...chosen, resources });
  }
  exports.sort((a, b) => compare(a.node, b.node) || compare(a.category, b.category) || compare(a.name, b.name));
  return { exports, problems, warnings };
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** An export as one resource has it; `cutByAugeas`: an unquoted value with whitespace, which Augeas cut at the first. */
type Parsed = OldExport & { cutByAugeas?: boolean };

/** `Augeas[fact_NAME_lin]` with `changes => "set NAME VALUE"`; a string is the problem. */
function fromAugeas(r: PuppetdbResource): Parsed | string {
  const changes = oneString(r.parameters.changes);
  if (changes === undefined) return `its changes ${describe(r.parameters.changes)} are not one "set NAME VALUE" command`;
  const m = /^\s*set\s+(\S+)\s+(\S[\s\S]*?)\s*$/.exec(changes);
  if (!m) return `its changes (${command(changes)}) are not "set NAME VALUE"`;
  const [, name, rawValue] = m;
  if (r.title !== `fact_${name}_lin` && r.title !== `fact_${name}`) {
    return `its title does not name the fact its changes set (${JSON.stringify(name)}): not an export of the old module`;
  }
  const value = unquote(rawValue);
  const parsed = common(r, name, value, r.parameters.incl ?? r.parameters.context);
  return typeof parsed === 'string' ? parsed : { ...parsed, cutByAugeas: value === rawValue && /\s/.test(value) };
}

/** `File_line[fact_NAME_win]` with `line => "NAME=VALUE"`. */
function fromFileLine(r: PuppetdbResource): OldExport | string {
  const line = r.parameters.line;
  if (typeof line !== 'string') return `its line ${describe(line)} is not "NAME=VALUE"`;
  const at = line.indexOf('=');
  if (at < 1 || at === line.length - 1) return `its line is not "NAME=VALUE" (${at < 0 ? 'no "="' : at === 0 ? 'no name' : 'no value'})`;
  const name = line.slice(0, at);
  if (r.title !== `fact_${name}_win`)
    return `its title does not name the fact its line sets (${JSON.stringify(name)}): not an export of the old module`;
  return common(r, name, line.slice(at + 1), r.parameters.path);
}

/** Name, category (the facts.d file's name, which the fact_CATEGORY tag must confirm) and value checks. */
function common(r: PuppetdbResource, name: string, value: string, file: unknown): OldExport | string {
  const nameProblem = factNameProblem('the fact name', name);
  if (nameProblem) return nameProblem;
  const category = typeof file === 'string' ? /([^/\\]+)\.txt\/?$/.exec(file)?.[1] : undefined;
  if (!category) {
    const shown = typeof file === 'string' ? JSON.stringify(file.slice(0, 200)) : describe(file);
    return `its file ${shown} is not a facts.d/CATEGORY.txt of the old module`;
  }
  const categoryProblem = factNameProblem('the category', category);
  if (categoryProblem) return categoryProblem;
  if (!r.tags.includes(`fact_${category}`)) return `it lacks the tag fact_${category} its file ${category}.txt calls for`;
  if (Buffer.byteLength(value) > MAX_IMPORTED_VALUE_BYTES)
    return `the value of ${category}.${name} is ${Buffer.byteLength(value)} bytes; a fact holds at most ${MAX_IMPORTED_VALUE_BYTES}`;
  const valueProblem = jsonValueProblem(value);
  if (valueProblem) return `the value of ${category}.${name} is not a valid fact value: it ${valueProblem}`;
  return { node: r.certname, category, name, value, resources: [ref(r)] };
}

/** `changes` is a string, or an array holding one. */
function oneString(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.length === 1 && typeof v[0] === 'string') return v[0];
  return undefined;
}

/** Augeas strips one pair of matching quotes around a value (and unescapes that quote inside). */
function unquote(value: string): string {
  const q = value[0];
  if ((q === '"' || q === "'") && value.length >= 2 && value.endsWith(q) && !value.endsWith(`\\${q}`)) {
    return value.slice(1, -1).replaceAll(`\\${q}`, q);
  }
  return value;
}

/** What a parameter held, for a message: never its content, which may be a secret. */
function describe(v: unknown): string {
  if (v === undefined) return '(absent)';
  if (typeof v === 'string') return `(a string of ${v.length} characters)`;
  return `(${Array.isArray(v) ? `an array of ${v.length}` : typeof v})`;
}

/**
 * The command word of a malformed `changes`, for the message. Only the word: a malformed
 * "set db_password" line may still hold a password further on.
 */
function command(changes: string): string {
  const word = changes.trim().split(/\s+/)[0] ?? '';
  const words = changes.trim() ? changes.trim().split(/\s+/).length : 0;
  return /^[a-z_]{1,16}$/.test(word) ? `a "${word}" command of ${words} word${words === 1 ? '' : 's'}` : 'no Augeas command';
}
