/**
 * Errors of pull sources that are not about the SSH connection itself
 * (ssh-errors.ts): what was asked for is not there, a tool is missing, or
 * a server the source is reached through directly (FTP) refused us.
 */
import { FerryError, type ErrorDetails } from '../../protocol/errors.ts';

export const SourceErrorCode = {
  /** The remote path, database or file to pull does not exist. */
  MissingPath: 'source.missing-path',
  /** A program the pull needs is not installed (on the remote host or here). */
  MissingTool: 'source.missing-tool',
  /** The source's server did not answer (refused, no route, timed out). Retryable. */
  Unreachable: 'source.unreachable',
  /** The source's server refused the login: the credentials are wrong. */
  AuthFailed: 'source.auth-failed',
  /** The source's server showed a TLS certificate this worker does not trust. */
  Untrusted: 'source.untrusted',
  /** The pull failed for another reason, named in the message. Retryable. */
  Failed: 'source.failed',
} as const;
export type SourceErrorCode = (typeof SourceErrorCode)[keyof typeof SourceErrorCode];

export class SourceError extends FerryError {
  override readonly name = 'SourceError';
  constructor(code: SourceErrorCode, message: string, opts: { details?: ErrorDetails; cause?: unknown } = {}) {
    super(code, message, { ...opts, retryable: code === SourceErrorCode.Failed || code === SourceErrorCode.Unreachable });
  }
}
