import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from '../log/logger';

/** A token in a URL would otherwise reach the log; none is taken there, but people paste. */
const JWT_LIKE = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;
const redacted = (url: string) => (url.includes('eyJ') ? url.replace(JWT_LIKE, '[redacted]') : url);

/**
 * One JSON line per request, written when the response is finished: who, which route,
 * status and time. Never a body, a header or a value. The agent and admin ports log alike.
 * (pino-http cost a quarter of the broker's CPU on the agent sync path: three child loggers
 * per request.)
 */
export function requestLog(log: Logger, who: (req: Request, res: Response) => Record<string, unknown>): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      log.info(
        {
          ...who(req, res),
          method: req.method,
          url: redacted(req.originalUrl),
          route: (req.route?.path as string | undefined) ?? null,
          status: res.statusCode,
          ms: Math.round(ms * 100) / 100,
        },
        'request',
      );
    });
    next();
  };
}
