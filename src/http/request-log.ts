import type { Request, RequestHandler } from 'express';
import type { Logger } from '../log/logger';

/**
 * One JSON line per request, written when the response is finished: who, which route,
 * status and time. Never a body, a header or a value. (pino-http cost a quarter of the
 * broker's CPU on the agent sync path: three child loggers per request.)
 */
export function requestLog(log: Logger, who: (req: Request) => Record<string, unknown>): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      log.info(
        { ...who(req), method: req.method, url: req.originalUrl, route: (req.route?.path as string | undefined) ?? null, status: res.statusCode, ms: Math.round(ms * 100) / 100 },
        'request',
      );
    });
    next();
  };
}
