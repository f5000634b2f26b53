/**
 * What an admin token may be allowed to do. A scope name is part of the API contract
 * (tokens in the field carry it), so names are only ever added, never renamed.
 * An admin certificate holds every scope.
 */
export const ADMIN_SCOPES = [
  'secrets:read',
  'secrets:rotate',
  'keys:rotate',
  'audit:read',
  'audit:prune',
  'nodes:read',
  'nodes:write',
  'graph:read',
  'backup:read',
  'facts:import',
] as const;

export type AdminScope = (typeof ADMIN_SCOPES)[number];

const KNOWN = new Set<string>(ADMIN_SCOPES);

export function isAdminScope(value: string): value is AdminScope {
  return KNOWN.has(value);
}

/**
 * Splits a scope list ("a b", "a,b") into known scopes, in ADMIN_SCOPES order, without
 * repeats. Unknown names come back separately so each caller picks its own error.
 */
export function parseScopes(text: string): { scopes: AdminScope[]; unknown: string[] } {
  const names = text.split(/[\s,]+/).filter(Boolean);
  const unknown = names.filter((n) => !isAdminScope(n));
  const wanted = new Set(names);
  return { scopes: ADMIN_SCOPES.filter((s) => wanted.has(s)), unknown };
}
