export {
  checkName,
  isNotFound,
  notFound,
  StorageError,
  StorageErrorCode,
  type ByteRange,
  type ObjectInfo,
  type ObjectWriter,
  type Storage,
} from './storage.ts';
export { StorageOp } from './ops.ts';
export { checkPrefix } from './prefix.ts';
export { checkRange } from './range.ts';
export { MemoryStorage } from './memory.ts';
export { FsStorage, type FsImpl, type FsStorageOptions } from './fs.ts';
export { mapFsError } from './fs-errors.ts';
export { withRetry, isRetryable, RETRY_DEFAULTS, type RetryInfo, type RetryOptions } from './retry.ts';
export { withConcurrencyLimit } from './limit.ts';
export { Semaphore } from './semaphore.ts';
export { withFaults, type FaultOptions, type FaultStats, type FaultyStorage } from './faults.ts';
export { openStorage, UNSUPPORTED_URL, type OpenStorageOptions } from './open.ts';
