import { notFound, StorageError, StorageErrorCode } from './storage.ts';

/** Conditions that clear up on their own: contention, descriptor exhaustion, signals. */
const TRANSIENT = new Set(['EAGAIN', 'EBUSY', 'EMFILE', 'ENFILE', 'EINTR']);

/** The errno code (`ENOENT`, …) of a Node system error, if it has one. */
export function errnoCode(err: unknown): string | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Translates a Node filesystem error about object `name` into the
 * StorageError the contract promises, keeping the original as `cause`.
 * StorageErrors (already translated) pass through unchanged.
 *
 * - ENOENT/ENOTDIR → storage.not-found (a missing path component means the
 *   object does not exist).
 * - ENOSPC/EDQUOT → storage.no-space, not retryable: retrying cannot free
 *   space, and the user has to act.
 * - EAGAIN/EBUSY/EMFILE/ENFILE/EINTR → storage.io, retryable.
 * - anything else (EACCES, EIO, EROFS, …) → storage.io, not retryable.
 */
export function mapFsError(err: unknown, name: string, location = 'local storage'): StorageError {
  if (err instanceof StorageError) return err;
  const code = errnoCode(err);
  const reason = err instanceof Error ? err.message : String(err);
  const details = { name, errno: code };
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return notFound(name, location, err);
    case 'ENOSPC':
    case 'EDQUOT':
      return new StorageError(
        StorageErrorCode.NoSpace,
        `cannot write ${name}: the disk holding ${location} is full (or your disk quota is used up). ` +
          'Nothing was changed. Free some space and run the command again.',
        { details, cause: err },
      );
    default:
      if (code !== undefined && TRANSIENT.has(code)) {
        return new StorageError(StorageErrorCode.Io, `temporary I/O error on ${name} in ${location}: ${reason}`, {
          retryable: true,
          details,
          cause: err,
        });
      }
      return new StorageError(StorageErrorCode.Io, `I/O error on ${name} in ${location}: ${reason}`, { details, cause: err });
  }
}
