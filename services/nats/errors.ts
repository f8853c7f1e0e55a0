/**
 * NATS errors. Everything this folder raises on purpose is a NatsError with a
 * stable code; the original failure stays in `cause`. Only `nats.unreachable`
 * is retryable: the server may simply not be up yet.
 */
import { FerryError, type ErrorDetails } from '../../protocol/errors.ts';

export const NatsErrorCode = {
  /** No `nats-server` binary on PATH or at the Debian fallback path. */
  NoServer: 'nats.no-server',
  /** The server process exited or never became ready. */
  StartFailed: 'nats.start-failed',
  /** Another live embedded server already owns this state directory. */
  EmbeddedRunning: 'nats.embedded-running',
  /** The first connection attempt failed. Retryable. */
  Unreachable: 'nats.unreachable',
  /** The server refused the credentials. */
  AuthFailed: 'nats.auth-failed',
} as const;
export type NatsErrorCode = (typeof NatsErrorCode)[keyof typeof NatsErrorCode];

export class NatsError extends FerryError {
  override readonly name = 'NatsError';
  constructor(code: NatsErrorCode, message: string, opts: { retryable?: boolean; details?: ErrorDetails; cause?: unknown } = {}) {
    super(code, message, opts);
  }
}

/** `nats://user:secret@host:4222` → `nats://host:4222`, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^@/]*@/i, '$1');
}
