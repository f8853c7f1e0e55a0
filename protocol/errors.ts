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

/** Codes raised by the wire layer itself (subjects, codec, message validation). */
export const ProtocolErrorCode = {
  /** An ID that must go into a subject or KV key does not match /^[A-Za-z0-9_-]{1,64}$/. */
  BadId: 'protocol.bad-id',
  /** A subject is not one of Ferry's subject shapes. */
  BadSubject: 'protocol.bad-subject',
  /** A message body does not match its kind's schema; details carry {kind, field}. */
  Invalid: 'protocol.invalid',
  /** The Ferry-Type header is missing or names a kind the registry does not know. */
  UnknownKind: 'protocol.unknown-kind',
  /** The Ferry-Type header names a version this process does not speak. */
  BadVersion: 'protocol.bad-version',
  /** The Content-Type header is missing or is not application/msgpack. */
  BadContentType: 'protocol.bad-content-type',
  /** The body is not one MessagePack value. */
  Undecodable: 'protocol.undecodable',
  /** A valid message of a kind this consumer does not handle. */
  UnexpectedKind: 'protocol.unexpected-kind',
  /** The tenant in the body differs from the tenant in the subject (which permissions are checked against). */
  TenantMismatch: 'protocol.tenant-mismatch',
  /** A stream, consumer or bucket exists with a configuration that cannot be updated in place. */
  ResourceConflict: 'protocol.resource-conflict',
  /** JetStream did not answer for long enough that setting up resources gave up (raised as a retryable FerryError). */
  Unavailable: 'protocol.unavailable',
} as const;
export type ProtocolErrorCode = (typeof ProtocolErrorCode)[keyof typeof ProtocolErrorCode];

/** A FerryError raised by the wire layer; never retryable, since the same bytes fail the same way. */
export class ProtocolError extends FerryError {
  override readonly name: string = 'ProtocolError';
  constructor(code: ProtocolErrorCode, message: string, opts: { details?: ErrorDetails; cause?: unknown } = {}) {
    super(code, message, { ...opts, retryable: false });
  }
}
