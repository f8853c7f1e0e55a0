/**
 * An AWS SDK failure as a StorageError: the storage contract's codes and
 * `retryable` flag (storage.ts), which the retry wrapper acts on. Retryable:
 * 5xx answers, throttling (429, SlowDown), timeouts and dropped or refused
 * connections. Final: everything the caller must change first (access
 * denied, a missing bucket, a bad request).
 */
import { notFound, StorageError, StorageErrorCode } from './storage.ts';

interface SdkError {
  readonly name?: string;
  readonly code?: string;
  readonly message?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
  readonly $retryable?: unknown;
}

const NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET']);
const THROTTLED = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException', 'RequestTimeout', 'RequestTimeTooSkewed', 'InternalError', 'ServiceUnavailable']);
const DENIED = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken', 'AllAccessDisabled']);

/**
 * `op` and `name` say what was being done to which object; `location` is
 * the repository's URL (no secrets: credentials never appear in it).
 */
export function mapS3Error(err: unknown, op: string, name: string, location: string): StorageError {
  if (err instanceof StorageError) return err;
  const e = (err ?? {}) as SdkError;
  const status = e.$metadata?.httpStatusCode;
  const code = e.name ?? e.code ?? 'Error';
  const text = (e.message ?? String(err)).replace(/\s+/g, ' ').trim();
  const details = { op, name, s3: code, ...(status ? { status } : {}) };
  if (code === 'NoSuchBucket') {
    return new StorageError(StorageErrorCode.Io, `the bucket of ${location} does not exist; create it (or fix the URL) first`, { details, cause: err });
  }
  if (code === 'NoSuchKey' || code === 'NotFound' || (status === 404 && code !== 'NoSuchUpload')) return notFound(name, location, err);
  if (code === 'InvalidRange' || status === 416) return new StorageError(StorageErrorCode.Range, `a range outside object ${name} was asked of ${location}`, { details, cause: err });
  if (code === 'InvalidObjectState') {
    return new StorageError(StorageErrorCode.Cold, `object ${name} in ${location} is in an archive storage class and must be restored before it can be read`, { details, cause: err });
  }
  if (DENIED.has(code) || status === 403) {
    return new StorageError(StorageErrorCode.Io, `${location} refused to ${op} ${name} (${code}): check the AWS credentials and the bucket policy`, { details, cause: err });
  }
  const network = NETWORK.has(e.code ?? '') || NETWORK.has(code) || code === 'TimeoutError' || /socket hang up|ECONNRESET|timed? ?out/i.test(text);
  const retryable = network || THROTTLED.has(code) || status === 429 || (status !== undefined && status >= 500) || e.$retryable !== undefined;
  return new StorageError(StorageErrorCode.Io, `${location}: ${op} ${name} failed (${code}${status ? ` ${status}` : ''}): ${text}`, { retryable, details, cause: err });
}
