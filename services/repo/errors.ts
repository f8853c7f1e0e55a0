import { FerryError, type ErrorDetails } from '../../protocol/errors.ts';

export const RepoErrorCode = {
  NotARepository: 'repo.not-a-repository',
  AlreadyExists: 'repo.already-exists',
  NoKey: 'repo.no-key',
  WrongPassphrase: 'repo.wrong-passphrase',
  Corrupt: 'repo.corrupt',
  MissingBlob: 'repo.missing-blob',
  UnknownSnapshot: 'repo.unknown-snapshot',
  AmbiguousSnapshot: 'repo.ambiguous-snapshot',
  UnsafePath: 'repo.unsafe-path',
  Unsupported: 'repo.unsupported',
} as const;
export type RepoErrorCode = (typeof RepoErrorCode)[keyof typeof RepoErrorCode];

export class RepoError extends FerryError {
  override readonly name = 'RepoError';
  constructor(code: RepoErrorCode, message: string, opts: { retryable?: boolean; details?: ErrorDetails; cause?: unknown } = {}) {
    super(code, message, opts);
  }
}
