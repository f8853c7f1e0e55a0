/**
 * Catalog errors. Every failure the catalog raises is a CatalogError with a
 * stable code; SQLite failures are translated by `fromSqlite`, keeping the
 * original error as `cause`. Only `catalog.locked` is retryable: another
 * connection holds the write lock past busy_timeout.
 */
import { FerryError, type ErrorDetails } from '../../protocol/errors.ts';

export const CatalogErrorCode = {
  /** The file is not a catalog, is damaged, or holds rows that break the catalog's invariants. */
  Corrupt: 'catalog.corrupt',
  /** SQLITE_BUSY / SQLITE_LOCKED past busy_timeout. Retryable. */
  Locked: 'catalog.locked',
  /** Unknown node id, or a read-only open of a missing file. */
  NotFound: 'catalog.not-found',
  /** The file was written by a newer catalog schema. */
  Version: 'catalog.version',
  /** A snapshot older than one already applied; rebuild to replay in time order. */
  OutOfOrder: 'catalog.out-of-order',
  /** rename() onto a name that is taken, or that would put a directory inside itself. */
  Conflict: 'catalog.conflict',
  /** Invalid argument (bad name, path component, time). */
  Invalid: 'catalog.invalid',
  /** reset() or rename() while applySnapshot() is running. */
  Busy: 'catalog.busy',
  /** Write on a read-only catalog. */
  ReadOnly: 'catalog.read-only',
  Closed: 'catalog.closed',
  /** Any other I/O or SQLite failure. */
  Io: 'catalog.io',
} as const;
export type CatalogErrorCode = (typeof CatalogErrorCode)[keyof typeof CatalogErrorCode];

export class CatalogError extends FerryError {
  override readonly name = 'CatalogError';
  constructor(code: CatalogErrorCode, message: string, opts: { retryable?: boolean; details?: ErrorDetails; cause?: unknown } = {}) {
    super(code, message, opts);
  }
}

/** Translates an error thrown by better-sqlite3 (or passes a CatalogError through). */
export function fromSqlite(err: unknown, op: string, file: string): CatalogError {
  if (err instanceof CatalogError) return err;
  const sqliteCode = typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : '';
  const msg = err instanceof Error ? err.message : String(err);
  const details = { op, file, sqlite: sqliteCode || undefined };
  if (sqliteCode.startsWith('SQLITE_BUSY') || sqliteCode.startsWith('SQLITE_LOCKED')) {
    return new CatalogError(CatalogErrorCode.Locked, `catalog ${file} is locked by another process (${op})`, { retryable: true, details, cause: err });
  }
  if (sqliteCode.startsWith('SQLITE_CORRUPT') || sqliteCode === 'SQLITE_NOTADB') {
    return new CatalogError(CatalogErrorCode.Corrupt, `catalog ${file} is corrupt (${op}): ${msg}; run \`ferry catalog rebuild\``, { details, cause: err });
  }
  if (sqliteCode.startsWith('SQLITE_READONLY')) {
    return new CatalogError(CatalogErrorCode.ReadOnly, `catalog ${file} is read-only (${op})`, { details, cause: err });
  }
  if (sqliteCode.startsWith('SQLITE_CANTOPEN')) {
    return new CatalogError(CatalogErrorCode.NotFound, `cannot open catalog ${file} (${op}): ${msg}`, { details, cause: err });
  }
  return new CatalogError(CatalogErrorCode.Io, `catalog ${file} failed (${op}): ${msg}`, { details, cause: err });
}
