import { BadRequestError } from '../errors/app-error';

/**
 * Puppet's own rule for certnames (Puppet::SSL::Base::VALID_CERTNAME: printable ASCII but
 * "/"), lower case as puppetserver insists. Anything else (a NUL, a control character,
 * non-ASCII) would end up in SQL, logs and file names, so it is refused outright.
 */
export const CERTNAME_PATTERN = /^[ -.0-~]{1,255}$/;

/**
 * Certnames starting with "@" are reserved for the broker's internal identities ("@broker"
 * exports the secrets it generates): no certificate may carry one, so no node can act as them.
 */
export const RESERVED_CERTNAME_PREFIX = '@';

/** Why a string cannot be a node's certname, or null. */
export function certnameProblem(field: string, value: string): string | null {
  if (!CERTNAME_PATTERN.test(value) || value !== value.toLowerCase()) {
    return `${field} ${JSON.stringify(value)} is not a Puppet certname (lower-case printable ASCII without "/")`;
  }
  if (value.startsWith(RESERVED_CERTNAME_PREFIX)) {
    return `${field} ${JSON.stringify(value)} starts with "${RESERVED_CERTNAME_PREFIX}", which is reserved for the broker's own identities`;
  }
  return null;
}

/** A certname from a request path: 400 invalid_name naming it. */
export function checkCertname(value: string): string {
  const problem = certnameProblem('certname', value);
  if (problem) throw new BadRequestError('invalid_name', problem);
  return value;
}
