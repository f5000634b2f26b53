import type { Request } from 'express';
import type { Caller } from '../identity/caller';

/** Where the authentication middleware leaves the caller; nothing else writes it. */
const CALLER = Symbol('exportfact.caller');

export function setCaller(req: Request, caller: Caller): void {
  (req as unknown as Record<symbol, Caller>)[CALLER] = caller;
}

export function callerOf(req: Request): Caller {
  const caller = (req as unknown as Record<symbol, Caller | undefined>)[CALLER];
  if (!caller) throw new Error('route reached without an authenticated caller');
  return caller;
}
