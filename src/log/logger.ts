import pino from 'pino';
import pinoPretty from 'pino-pretty';

/**
 * One logger for the process. Fact values and secrets are never passed to it; the redact
 * list is a second line of defence for fields that could carry one by mistake.
 */
export type Logger = pino.Logger;

export interface LoggerOptions {
  level?: string;
  /** json: one object per line, for log shippers; pretty: one readable line per event, for people. */
  format?: 'json' | 'pretty';
}

export function createLogger(options: LoggerOptions | string = {}, destination?: pino.DestinationStream): Logger {
  const { level = process.env.EXPORTFACT_LOG_LEVEL ?? 'info', format = 'json' } =
    typeof options === 'string' ? { level: options } : options;
  return pino(
    {
      level,
      base: { svc: 'exportfact' },
      redact: { paths: ['value', 'values', '*.value', '*.values', 'req.body', 'password', 'secret'], censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? (format === 'pretty' ? prettyStream() : jsonStream()),
  );
}

// Asynchronous by default: a synchronous write per request line cost a quarter of a 304.
// pino flushes what is buffered when the process exits.
const jsonStream = () => pino.destination({ dest: 1, sync: false });

/** `12:03:04 INFO request  certname=db1 method=GET url=/v1/facts status=200 ms=0.8`: the same fields as JSON. */
const prettyStream = () =>
  pinoPretty({
    colorize: process.stdout.isTTY === true,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname,svc',
    destination: 1,
    sync: false,
  });
