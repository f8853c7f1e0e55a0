/**
 * Errors of SSH sources. Each names its cause in words a person can act on,
 * carries the target as `details` (host, port, user: never a password or a
 * key) and the library's error as `cause`.
 */
import { FerryError, type ErrorDetails } from '../../protocol/errors.ts';

export const SshErrorCode = {
  /** Nothing answered at host:port (refused, no route, DNS). Retryable. */
  Unreachable: 'ssh.unreachable',
  /** The server did not finish the handshake in time. Retryable. */
  Timeout: 'ssh.timeout',
  /** The server refused every credential offered. */
  AuthFailed: 'ssh.auth-failed',
  /** The server's host key is not the pinned one. */
  HostKeyMismatch: 'ssh.host-key-mismatch',
  /** A remote command could not be started, or the connection dropped under it. Retryable. */
  ChannelFailed: 'ssh.channel-failed',
  /** The target's settings cannot work (no credential, unreadable key). */
  BadTarget: 'ssh.bad-target',
} as const;
export type SshErrorCode = (typeof SshErrorCode)[keyof typeof SshErrorCode];

const RETRYABLE: ReadonlySet<string> = new Set([SshErrorCode.Unreachable, SshErrorCode.Timeout, SshErrorCode.ChannelFailed]);

export class SshError extends FerryError {
  override readonly name = 'SshError';
  constructor(code: SshErrorCode, message: string, opts: { details?: ErrorDetails; cause?: unknown } = {}) {
    super(code, message, { ...opts, retryable: RETRYABLE.has(code) });
  }
}
