import type { Request } from 'express';
import type { Caller } from '../identity/caller';

/** Where the authentication middleware leaves the caller; nothing else writes it. */
const CALLER = Symbol('exportfact.caller');

export function setCaller(req: Request, caller: Caller): void {
  (req as unknown as Record<symbol, Caller>)[CALLER] = caller;
}

/** The caller if authentication got that far (for logging refused requests too). */
export function findCaller(req: Request): Caller | undefined {
  return (req as unknown as Record<symbol, Caller | undefined>)[CALLER];
}

export function callerOf(req: Request): Caller {
  const caller = findCaller(req);
  if (!caller) throw new Error('route reached without an authenticated caller');
  return caller;
}
