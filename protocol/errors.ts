/**
 * Errors that can cross process and wire boundaries.
 *
 * Every error Ferry raises on purpose is a FerryError: it carries a stable
 * `code` (never compare messages), whether retrying can help (`retryable`),
 * structured `details`, and the underlying `cause`. `toWire()` gives the
 * plain shape that later travels in messages; `fromWire()` rebuilds it.
 */
export type ErrorDetails = Record<string, string | number | boolean | null | undefined>;

export interface WireError {
  readonly code: string;
  readonly message: string;
  readonly retryable: boolean;
  readonly details: ErrorDetails;
}

export class FerryError extends Error {
  override readonly name: string = 'FerryError';
  readonly code: string;
  readonly retryable: boolean;
  readonly details: ErrorDetails;

  constructor(code: string, message: string, opts: { retryable?: boolean; details?: ErrorDetails; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.retryable = opts.retryable ?? false;
    this.details = opts.details ?? {};
  }

  toWire(): WireError {
    return { code: this.code, message: this.message, retryable: this.retryable, details: this.details };
  }

  static fromWire(w: WireError): FerryError {
    return new FerryError(w.code, w.message, { retryable: w.retryable, details: w.details });
  }
}

/** True when `err` is a FerryError with the given code (works across module copies). */
export function hasCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
