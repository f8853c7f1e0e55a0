import { StorageError, StorageErrorCode } from './storage.ts';

/** The error every driver raises for an operation attempted after close(). */
export function closedError(location: string, op: string): StorageError {
  return new StorageError(StorageErrorCode.Closed, `cannot ${op}: storage ${location} is closed`, {
    details: { op, location },
  });
}
