/**
 * The catalog's SQLite schema and connection setup.
 *
 * Budget: ~50 bytes per node on disk, measured as page_count * page_size /
 * nodes. Where the bytes go for a file row (~44.5 per node at 1M nodes,
 * measured with dbstat): 8 record-header bytes, parent id 2-3, name ~15.5,
 * node id 3, kind code 0, size ~2.5, mtime 4, hash 8, plus 3 bytes of cell
 * pointer and length; directories, their name index and file_ranges add
 * ~2.7 more per node, for ~47.3 in total.
 *
 * - `files` holds every non-directory node, WITHOUT ROWID and keyed by
 *   (parent_id, name): the name is stored once, a directory's children are
 *   contiguous and sorted, and a child lookup is one b-tree descent. Files are
 *   deliberately not indexed by node id (an index would cost ~25 bytes/file).
 * - `dirs` holds directories (~5% of nodes) keyed by node id, with a unique
 *   (parent_id, name) index: walking parents to rebuild a path and looking a
 *   component up are both one descent per level, and renaming a directory is
 *   one row. Names are never full paths.
 * - `file_ranges` maps runs of file ids to the directory they were created
 *   in (files are allocated a listing at a time, so one row per directory
 *   per snapshot); `file_moves` overrides it for files rename()d elsewhere.
 *   Together they answer "which directory holds file id X" without an index.
 * - `versions` keeps superseded states only: the row holds the values a node
 *   had *before* snapshot `seq` changed them. A node's creation snapshot
 *   follows from its id (snapshots record the first ids they allocated).
 * - `snapshots` maps a small seq to the snapshot id and time; state 0 means
 *   applying (interrupted), 1 applied.
 *
 * Page size 16 KiB: fewer interior cells and less tail waste per page than
 * 4 KiB (~0.3 bytes/node measured) while point lookups stay in the tens of µs.
 */
import type Database from 'better-sqlite3';
import { CatalogError, CatalogErrorCode } from './errors.ts';
import { ROOT_ID } from './node-codes.ts';

export const SCHEMA_VERSION = 1;
/** 'FRYC': tells a catalog apart from any other SQLite file. */
export const APPLICATION_ID = 0x46525943;
export const PAGE_SIZE = 16384;

const DDL = `
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE snapshots (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  time_ms INTEGER NOT NULL,
  first_dir INTEGER NOT NULL,
  first_file INTEGER NOT NULL,
  state INTEGER NOT NULL
);

CREATE TABLE dirs (
  node_id INTEGER PRIMARY KEY,
  parent_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  deleted INTEGER NOT NULL,
  mtime INTEGER NOT NULL
);
CREATE UNIQUE INDEX dirs_by_name ON dirs (parent_id, name);

CREATE TABLE files (
  parent_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  node_id INTEGER NOT NULL,
  k INTEGER NOT NULL,
  size INTEGER NOT NULL,
  mtime INTEGER NOT NULL,
  hash INTEGER NOT NULL,
  PRIMARY KEY (parent_id, name)
) WITHOUT ROWID;

CREATE TABLE file_ranges (
  first INTEGER PRIMARY KEY,
  parent_id INTEGER NOT NULL
);

CREATE TABLE file_moves (
  node_id INTEGER PRIMARY KEY,
  parent_id INTEGER NOT NULL
);

CREATE TABLE versions (
  node_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  k INTEGER NOT NULL,
  size INTEGER NOT NULL,
  mtime INTEGER NOT NULL,
  hash INTEGER NOT NULL,
  PRIMARY KEY (node_id, seq)
) WITHOUT ROWID;
`;

export const TABLES = ['meta', 'snapshots', 'dirs', 'files', 'file_ranges', 'file_moves', 'versions'] as const;

export const MetaKey = {
  /** Next directory id (counts up). */
  NextDir: 'next_dir',
  /** Next file ordinal; the file's node id is its negation. */
  NextFile: 'next_file',
} as const;

/** Rows every empty catalog starts with: the root and the id counters. */
export function seedRows(db: Database.Database): void {
  db.exec(`INSERT INTO dirs (node_id, parent_id, name, deleted, mtime) VALUES (${ROOT_ID}, 0, '', 0, 0);
    INSERT INTO meta (key, value) VALUES ('${MetaKey.NextDir}', ${ROOT_ID + 1n}), ('${MetaKey.NextFile}', 1);`);
}

function pragmaInt(db: Database.Database, name: string): number {
  return Number(db.prepare(`PRAGMA ${name}`).pluck().get());
}

/**
 * Configures a fresh connection and creates or checks the schema.
 * Throws catalog.corrupt for a file that is not a catalog and
 * catalog.version for a newer schema.
 */
export function prepareSchema(db: Database.Database, file: string, readonly: boolean, busyTimeoutMs: number): void {
  db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
  const appId = pragmaInt(db, 'application_id');
  const version = pragmaInt(db, 'user_version');
  if (appId === 0 && version === 0 && pragmaInt(db, 'page_count') === 0 && !readonly) {
    // page_size only takes effect before the first write (and before WAL).
    db.exec(`PRAGMA page_size = ${PAGE_SIZE}; PRAGMA journal_mode = WAL;`);
    db.exec('BEGIN IMMEDIATE');
    try {
      db.exec(DDL);
      seedRows(db);
      db.exec(`PRAGMA application_id = ${APPLICATION_ID}; PRAGMA user_version = ${SCHEMA_VERSION};`);
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
  } else if (appId !== APPLICATION_ID) {
    throw new CatalogError(CatalogErrorCode.Corrupt, `${file} is not a Ferry catalog`, { details: { file, applicationId: appId } });
  } else if (version > SCHEMA_VERSION) {
    throw new CatalogError(CatalogErrorCode.Version, `catalog ${file} has schema ${version}, newer than this Ferry (${SCHEMA_VERSION})`, {
      details: { file, version },
    });
  } else if (!readonly) {
    db.exec('PRAGMA journal_mode = WAL');
  }
  // Derived data: losing the last transactions on power loss only means
  // re-applying a snapshot, so WAL's NORMAL sync is enough.
  db.exec('PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;');
}
