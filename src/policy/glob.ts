/**
 * Globs of the policy file, compiled once per policy version.
 *
 * `*` matches any run of characters except a dot, `**` any run including dots, `?` one
 * character except a dot; everything else is literal. A star stops at dots for the same
 * reason TLS wildcards do: `compute*.example.com` should match `compute01.example.com`,
 * not `compute.evil.example.com`. Patterns without a wildcard compare as plain strings,
 * which is what most patterns are and what keeps evaluation cheap.
 */
export interface Glob {
  readonly source: string;
  /** True when the pattern holds no wildcard. */
  readonly literal: boolean;
  test(value: string): boolean;
}

/** What a pattern may contain, by where it is used; a message names what went wrong. */
export type GlobKind = 'certname' | 'fact part' | 'value';

// Certnames are DNS-like in practice (Puppet lowercases them; dev and test CAs may not).
const CERTNAME_CHARS = /^[A-Za-z0-9._*?-]+$/;
// Categories and names are Facter-style (src/facts/fact-names.ts), plus the wildcards.
const FACT_PART_CHARS = /^[a-z0-9_*?]+$/;

/** Returns the compiled glob, or a message saying why the pattern is not one. */
export function compileGlob(pattern: string, kind: GlobKind): Glob | string {
  if (pattern === '') return 'an empty pattern matches nothing';
  if (/\*\*\*/.test(pattern)) return `"${pattern}" has three stars in a row; use * (within a dot-separated part) or ** (across dots)`;
  if (/[\u0000-\u001f\u007f]/.test(pattern)) return `"${pattern}" holds a control character`;
  if (kind === 'certname' && !CERTNAME_CHARS.test(pattern)) {
    return `certname pattern "${pattern}" may hold only letters, digits, ".", "-", "_" and the wildcards * ** ?`;
  }
  if (kind === 'fact part' && !FACT_PART_CHARS.test(pattern)) {
    return `"${pattern}" is not a fact name pattern (lowercase letters, digits, _ and the wildcards * ?)`;
  }
  if (!/[*?]/.test(pattern)) return { source: pattern, literal: true, test: (value) => value === pattern };
  const regex = new RegExp(
    `^${pattern
      .split(/(\*\*|\*|\?)/)
      .map(toRegex)
      .join('')}$`,
    's',
  );
  return { source: pattern, literal: false, test: (value) => regex.test(value) };
}

function toRegex(piece: string): string {
  if (piece === '**') return '.*';
  if (piece === '*') return '[^.]*';
  if (piece === '?') return '[^.]';
  return piece.replace(/[.+^${}()|[\]\\*?]/g, '\\$&');
}

/** True when the pattern is wildcards and dots only (`*`, `**`, `*.*`): such a match identifies no one. */
export function isWildcardOnly(glob: Glob): boolean {
  return /^[*?.]+$/.test(glob.source);
}
