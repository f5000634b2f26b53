import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError, describeError } from '../errors/app-error';
import { isConnectionFailure, StoreUnavailableError } from '../errors/store-errors';
import type { Logger } from '../log/logger';

/** body-parser's error types, turned into our stable codes. */
const PARSER_ERRORS: Record<string, { status: number; code: string; message: string }> = {
  'entity.parse.failed': { status: 400, code: 'invalid_json', message: 'request body is not valid JSON' },
  'entity.too.large': { status: 413, code: 'body_too_large', message: 'request body is larger than the limit' },
  'encoding.unsupported': { status: 415, code: 'unsupported_media_type', message: 'unsupported body encoding' },
  'charset.unsupported': { status: 415, code: 'unsupported_media_type', message: 'unsupported body charset' },
  'request.aborted': { status: 400, code: 'request_aborted', message: 'request body was not received in full' },
};

export function sendError(res: Parameters<RequestHandler>[1], status: number, code: string, message: string): void {
  res.status(status).json({ error: { code, message } });
}

/** The one place that turns errors into HTTP: clients get stable codes, logs get the cause. */
export function errorMapper(log: Logger): ErrorRequestHandler {
  return (err, _req, res, _next) => {
    // Classified by the stores (src/errors/store-errors.ts); a raw driver error that got past them is classified here the same way.
    if (err instanceof StoreUnavailableError || isConnectionFailure(err)) {
      const unavailable = err instanceof StoreUnavailableError ? err : new StoreUnavailableError(err);
      const cause = unavailable.cause as { message?: string; code?: string } | undefined;
      log.warn({ err: { message: cause?.message, code: cause?.code } }, 'store unavailable');
      res.set(unavailable.headers);
      return sendError(res, unavailable.status, unavailable.code, unavailable.message);
    }
    if (err instanceof AppError) {
      // A broker fault that knows more than the client may see (SecretUndecryptableError): the log gets it.
      if (err.status >= 500) log.error({ code: err.code, err: describeError(err) }, 'request failed by a broker fault');
      res.set(err.headers);
      return sendError(res, err.status, err.code, err.message);
    }
    const parser = typeof err?.type === 'string' ? PARSER_ERRORS[err.type] : undefined;
    if (parser) {
      const message = err.type === 'entity.too.large' ? `request body is larger than ${err.limit} bytes` : parser.message;
      return sendError(res, parser.status, parser.code, message);
    }
    // Other client errors raised by express or body-parser (a path that is not valid
    // percent-encoding, a body that does not inflate): their 4xx status stands.
    const status = Number(err?.status ?? err?.statusCode);
    if (status >= 400 && status < 500) {
      const code = err instanceof URIError || /decode param/i.test(err?.message ?? '') ? 'invalid_path' : 'bad_request';
      return sendError(
        res,
        status,
        code,
        code === 'invalid_path' ? 'the request path is not valid percent-encoding' : err.expose ? String(err.message) : 'bad request',
      );
    }
    log.error({ err: { message: err?.message, stack: err?.stack } }, 'unexpected error');
    return sendError(res, 500, 'internal_error', 'internal error; see the broker log');
  };
}
