/**
 * Base of every error a client may be shown. `code` is part of the API contract
 * (docs/api.md): clients branch on it, so it never changes once published.
 * Messages name the field or fact concerned and never carry a fact value.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class BadRequestError extends AppError {
  constructor(code: string, message: string) {
    super(400, code, message);
  }
}

export class NotFoundError extends AppError {
  constructor(code: string, message: string) {
    super(404, code, message);
  }
}

export class ConflictError extends AppError {
  constructor(code: string, message: string) {
    super(409, code, message);
  }
}

export class UnavailableError extends AppError {
  constructor(code: string, message: string) {
    super(503, code, message);
  }
}

/** What a log line says of an error: the detail a broker fault keeps from the client, else its message. */
export function describeError(err: unknown): string {
  const e = err as { logDetail?: string; message?: string } | undefined;
  return e?.logDetail ?? e?.message ?? String(err);
}
