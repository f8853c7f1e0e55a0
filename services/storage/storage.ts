/**
 * The storage interface: the narrow contract every repository backend meets.
 *
 * Names are relative, slash-separated keys such as `data/ab/ab12…` or
 * `config`. They never start with `/`, never contain `..`, `//` or a
 * backslash; drivers reject such names with StorageError code
 * `storage.bad-name` (not retryable).
 *
 * Contract, which the conformance suite (conformance.ts) checks on every driver:
 * - save(name, data) is atomic: a reader sees either no object or the whole
 *   object, never a prefix. Saving over an existing name replaces it whole
 *   (content-addressed callers only ever rewrite identical bytes). It reads
 *   `data` only until it settles: callers reuse the buffer afterwards.
 * - Read-after-write: once save() resolves, load/stat/list see the object;
 *   once remove() resolves, they no longer do.
 * - load(name, range?) returns the bytes; a range reads `length` bytes from
 *   `offset`. A range that runs past the end is an error (`storage.range`),
 *   because callers always know the exact length they stored.
 * - "Not found" is always StorageError code `storage.not-found`, retryable
 *   false, from load, stat and remove alike. Callers test it with
 *   `isNotFound(err)`, never by message.
 * - list(prefix) yields every object whose name starts with `prefix`, each
 *   once, in no particular order, with its size. It streams: it never builds
 *   the full listing in memory. A prefix no valid name can start with
 *   (`/x`, `a/../`, `a//`) is rejected with `storage.bad-name`, so no driver
 *   can be steered outside its root (see prefix.ts).
 * - Errors a retry may cure (network, throttling, 5xx, EBUSY/EAGAIN-like
 *   conditions, injected faults) have `retryable: true`. Everything else is
 *   final. Wrappers (retry, limit, faults) rely on that flag only.
 * - writer() starts an object written in pieces, for objects too large to
 *   hold in memory whole (packs), whose name is known only at the end. See
 *   ObjectWriter for its contract.
 * - close() releases resources and is safe to call twice; operations after
 *   it fail with `storage.closed` (not retryable).
 */
import { FerryError, hasCode, type ErrorDetails } from '../../protocol/errors.ts';

export interface ByteRange {
  readonly offset: number;
  readonly length: number;
}

export interface ObjectInfo {
  readonly name: string;
  readonly size: number;
}

/**
 * Objects kept in an archive class (S3 Glacier, Deep Archive) cannot be
 * read until they are restored ("thawed") for a while; load() of one fails
 * with `storage.cold`. Drivers with such classes offer this; wrappers pass
 * it through.
 */
export interface ArchiveAccess {
  /** `readable` for objects in no archive class or already thawed; `thawing` once a restore was asked. */
  state(name: string): Promise<'cold' | 'thawing' | 'readable'>;
  /** Asks for `name` to be readable for `days`; `tier` trades cost for speed (Bulk, Standard, Expedited). Asking twice is harmless. */
  request(name: string, opts: { days: number; tier: ThawTier }): Promise<void>;
}

export const ThawTiers = ['Bulk', 'Standard', 'Expedited'] as const;
export type ThawTier = (typeof ThawTiers)[number];

export interface Storage {
  /** Human-readable location, e.g. `file:///srv/repo` or `memory:`. Never contains secrets. */
  readonly location: string;
  /** Present on drivers whose objects may sit in an archive class (see ArchiveAccess). */
  readonly archive?: ArchiveAccess | undefined;
  save(name: string, data: Uint8Array): Promise<void>;
  load(name: string, range?: ByteRange): Promise<Uint8Array>;
  stat(name: string): Promise<ObjectInfo>;
  list(prefix: string): AsyncIterable<ObjectInfo>;
  remove(name: string): Promise<void>;
  writer(): Promise<ObjectWriter>;
  close(): Promise<void>;
}

/**
 * An object written piece by piece, then published under a name.
 *
 * - Nothing is visible under any name (load, stat, list) before commit().
 * - Getting a writer may fail with a retryable error (a driver that opens
 *   a file or starts an upload there); then nothing was started.
 * - write(data) appends; pieces land in the order write() was called, even
 *   if the caller does not await each. The writer does not read `data`
 *   after the returned promise settles. A write that rejects leaves the
 *   writer failed: commit() rejects with the same error and discards what
 *   was written.
 * - commit(name) publishes every piece written as object `name`, as
 *   atomically and durably as save(). A commit that rejects with a
 *   retryable error may be called again; once one has resolved, calling
 *   it again with the same name resolves too (a lost answer is retried).
 * - abort() discards the pieces. It is safe to call twice, and after a
 *   commit that resolved it does nothing. write() and commit() after
 *   abort() (or write() after a commit) fail with `storage.closed`.
 * - `gathers` true: write() copies each piece into larger writes of its
 *   own, so a caller gains nothing by joining small pieces first.
 */
export interface ObjectWriter {
  readonly gathers?: boolean;
  write(data: Uint8Array): Promise<void>;
  commit(name: string): Promise<void>;
  abort(): Promise<void>;
}

export const StorageErrorCode = {
  NotFound: 'storage.not-found',
  BadName: 'storage.bad-name',
  Range: 'storage.range',
  Io: 'storage.io',
  NoSpace: 'storage.no-space',
  Fault: 'storage.fault',
  Closed: 'storage.closed',
  /** The object is in an archive storage class: it must be restored (thawed) before it can be read. Not retryable as such. */
  Cold: 'storage.cold',
} as const;
export type StorageErrorCode = (typeof StorageErrorCode)[keyof typeof StorageErrorCode];

export class StorageError extends FerryError {
  override readonly name = 'StorageError';
  constructor(code: StorageErrorCode, message: string, opts: { retryable?: boolean; details?: ErrorDetails; cause?: unknown } = {}) {
    super(code, message, opts);
  }
}

/** `inner` with its commit replaced by `commit`, for wrappers (retry, limit, faults) that act on commits only. */
export function withCommit(inner: ObjectWriter, commit: (name: string) => Promise<void>): ObjectWriter {
  return { gathers: inner.gathers, write: (data) => inner.write(data), commit, abort: () => inner.abort() };
}

/** The error for using an ObjectWriter after it was committed or aborted. */
export function finishedWriter(location: string, op: string): StorageError {
  return new StorageError(StorageErrorCode.Closed, `cannot ${op}: this object writer for ${location} was already committed or aborted`, {
    details: { op, location },
  });
}

export function isNotFound(err: unknown): boolean {
  return hasCode(err, StorageErrorCode.NotFound);
}

export function notFound(name: string, location: string, cause?: unknown): StorageError {
  return new StorageError(StorageErrorCode.NotFound, `object ${name} not found in ${location}`, { details: { name }, cause });
}

/** Throws storage.bad-name unless `name` is a clean relative key (see contract above). */
export function checkName(name: string): void {
  const bad =
    name.length === 0 ||
    name.startsWith('/') ||
    name.endsWith('/') ||
    name.includes('\\') ||
    name.includes('//') ||
    name.includes('\0') ||
    name.split('/').some((part) => part === '.' || part === '..');
  if (bad) throw new StorageError(StorageErrorCode.BadName, `invalid object name ${JSON.stringify(name)}`, { details: { name } });
}
