import type { Request } from 'express';
import type { AdminScope } from './scopes';

/**
 * Who an admin request acts as. `subject` is what audit records: the certname of an admin
 * certificate, or the `sub` of a token. `certname` is the verified certificate that carried
 * a token request, if any, so audit can say "token ops-alice, sent from host X".
 */
export interface AdminPrincipal {
  subject: string;
  kind: 'certificate' | 'token';
  scopes: AdminScope[];
  certname?: string;
  /** The token's `jti`, so one issued token can be traced through the audit log. */
  tokenId?: string;
  expiresAt?: Date;
}

/** Where the admin authentication middleware leaves the principal; nothing else writes it. */
const PRINCIPAL = Symbol('exportfact.adminPrincipal');

export function setAdminPrincipal(req: Request, principal: AdminPrincipal): void {
  (req as unknown as Record<symbol, AdminPrincipal>)[PRINCIPAL] = principal;
}

/** The authenticated admin; throws if a route was mounted outside the admin authentication. */
export function adminPrincipalOf(req: Request): AdminPrincipal {
  const principal = findAdminPrincipal(req);
  if (!principal) throw new Error('admin route reached without an authenticated principal');
  return principal;
}

/** For logging, which also runs for refused requests. */
export function findAdminPrincipal(req: Request): AdminPrincipal | undefined {
  return (req as unknown as Record<symbol, AdminPrincipal | undefined>)[PRINCIPAL];
}
