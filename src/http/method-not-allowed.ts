import type { RequestHandler } from 'express';
import { AppError } from '../errors/app-error';

/** Attached last to a route: a known path with a method it does not serve. */
export function methodNotAllowed(allowed: string[]): RequestHandler {
  return (req, _res, next) =>
    next(
      new AppError(405, 'method_not_allowed', `${req.method} is not allowed on ${req.baseUrl}${req.path}; use ${allowed.join(', ')}`, {
        Allow: allowed.join(', '),
      }),
    );
}
