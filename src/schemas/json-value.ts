import { z } from 'zod';

/** Deeper than this is no fact anyone writes, and it would cost recursion further on. */
export const MAX_VALUE_DEPTH = 32;

const UNPAIRED_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why a string cannot be stored as text by PostgreSQL (jsonb), or null when it can. */
function unstorable(text: string): string | null {
  if (text.includes('\u0000')) return 'holds the character U+0000, which PostgreSQL cannot store';
  if (UNPAIRED_SURROGATE.test(text)) return 'holds an unpaired UTF-16 surrogate (such as \\ud800), which is not Unicode text';
  return null;
}

/**
 * Checks a value a client sent, without recursion (the value may be hostile): at most
 * MAX_VALUE_DEPTH levels, JSON types only, finite numbers, and strings (keys too) that
 * PostgreSQL can store. Returns the first problem, naming where it is, or null.
 */
export function jsonValueProblem(value: unknown): string | null {
  const stack: [unknown, number, string][] = [[value, 1, '']];
  while (stack.length) {
    const [v, depth, at] = stack.pop()!;
    if (depth > MAX_VALUE_DEPTH) return `is nested deeper than ${MAX_VALUE_DEPTH} levels`;
    const where = at ? ` at ${at}` : '';
    if (typeof v === 'string') {
      const why = unstorable(v);
      if (why) return `${why}${where}`;
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) return `holds a number JSON cannot carry${where}`;
    } else if (Array.isArray(v)) {
      for (const [i, child] of v.entries()) stack.push([child, depth + 1, `${at}[${i}]`]);
    } else if (v !== null && typeof v === 'object') {
      if (Object.getPrototypeOf(v) !== Object.prototype && Object.getPrototypeOf(v) !== null) return `is not a JSON value${where}`;
      for (const [key, child] of Object.entries(v)) {
        const why = unstorable(key);
        if (why) return `has a key that ${why}${where}`;
        stack.push([child, depth + 1, `${at}.${JSON.stringify(key)}`]);
      }
    } else if (typeof v !== 'boolean' && v !== null) {
      return `is not a JSON value${where}`;
    }
  }
  return null;
}

/**
 * A fact's value: any JSON value Facter can hold, which is any but null (a nil fact is an
 * absent fact). One schema for every place a client gives a value (publish, rotate).
 */
export const factValue = z.unknown().superRefine((v, ctx) => {
  if (v === undefined) return void ctx.addIssue({ code: 'custom', message: 'is required' });
  if (v === null) return void ctx.addIssue({ code: 'custom', message: 'must be a JSON value other than null' });
  const problem = jsonValueProblem(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
