import { FerryError, type ErrorDetails } from '../../protocol/errors.ts';

export const CryptoErrorCode = {
  /** Authentication failed: wrong key or tampered/corrupt bytes. */
  Auth: 'crypto.auth',
  WrongPassphrase: 'crypto.wrong-passphrase',
  /** The key can write but not read content (a writer key). */
  NoPrivateKey: 'crypto.no-private-key',
  BadFormat: 'crypto.bad-format',
} as const;
export type CryptoErrorCode = (typeof CryptoErrorCode)[keyof typeof CryptoErrorCode];

export class CryptoError extends FerryError {
  override readonly name = 'CryptoError';
  constructor(code: CryptoErrorCode, message: string, opts: { details?: ErrorDetails; cause?: unknown } = {}) {
    super(code, message, { ...opts, retryable: false });
  }
}
