/**
 * Every SQL statement the catalog runs, prepared once per connection.
 * Statements that return ids or hashes use
 * safe integers so int64 values arrive as exact bigints.
 */
import type Database from 'better-sqlite3';

/** A row of `dirs` as read back. */
export interface DirRow {
  node_id: bigint;
  parent_id: bigint;
  name: string;
  deleted: bigint;
  mtime: bigint;
}

/** A row of `files` as read back. */
export interface FileRow {
  node_id: bigint;
  parent_id: bigint;
  name: string;
  k: bigint;
  size: bigint;
  mtime: bigint;
  hash: bigint;
}

export interface VersionRow {
  seq: bigint;
  k: bigint;
  size: bigint;
  mtime: bigint;
  hash: bigint;
}

export interface SnapshotRow {
  seq: bigint;
  id: string;
  time_ms: bigint;
  first_dir: bigint;
  first_file: bigint;
  state: bigint;
}

type Stmt<R = unknown> = Database.Statement<unknown[], R>;

const DIR_COLS = 'node_id, parent_id, name, deleted, mtime';
const FILE_COLS = 'node_id, parent_id, name, k, size, mtime, hash';

export class Statements {
  readonly dirByName: Stmt<DirRow>;
  readonly dirById: Stmt<DirRow>;
  readonly dirChildren: Stmt<DirRow>;
  readonly dirChildrenAfter: Stmt<DirRow>;
  readonly liveSubdirs: Stmt<DirRow>;
  readonly insertDir: Stmt;
  readonly setDirState: Stmt;
  readonly moveDir: Stmt;

  readonly fileByName: Stmt<FileRow>;
  readonly fileChildren: Stmt<FileRow>;
  readonly fileChildrenAfter: Stmt<FileRow>;
  readonly fileInDir: Stmt<FileRow>;
  readonly insertFile: Stmt;
  readonly updateFile: Stmt;
  readonly moveFile: Stmt;

  readonly rangeParent: Stmt<bigint>;
  readonly insertRange: Stmt;
  readonly movedParent: Stmt<bigint>;
  readonly setMove: Stmt;
  readonly clearMove: Stmt;

  readonly insertVersion: Stmt;
  readonly versionsOf: Stmt<VersionRow>;

  readonly snapshots: Stmt<SnapshotRow>;
  readonly insertSnapshot: Stmt;
  readonly finishSnapshot: Stmt;

  readonly getMeta: Stmt<bigint>;
  readonly setMeta: Stmt;

  readonly countDirs: Stmt<bigint>;
  readonly countFiles: Stmt<bigint>;
  readonly pageCount: Stmt<bigint>;
  readonly pageSize: Stmt<bigint>;
  readonly dataVersion: Stmt<bigint>;

  constructor(db: Database.Database) {
    const q = <R>(sql: string): Stmt<R> => db.prepare<unknown[], R>(sql).safeIntegers(true);
    const one = <R>(sql: string): Stmt<R> => db.prepare<unknown[], R>(sql).safeIntegers(true).pluck();

    this.dirByName = q(`SELECT ${DIR_COLS} FROM dirs WHERE parent_id = ? AND name = ?`);
    this.dirById = q(`SELECT ${DIR_COLS} FROM dirs WHERE node_id = ?`);
    this.dirChildren = q(`SELECT ${DIR_COLS} FROM dirs WHERE parent_id = ? ORDER BY name`);
    this.dirChildrenAfter = q(`SELECT ${DIR_COLS} FROM dirs WHERE parent_id = ? AND name > ? ORDER BY name LIMIT ?`);
    this.liveSubdirs = q(`SELECT ${DIR_COLS} FROM dirs WHERE parent_id = ? AND deleted = 0`);
    this.insertDir = q('INSERT INTO dirs (node_id, parent_id, name, deleted, mtime) VALUES (?, ?, ?, 0, ?)');
    this.setDirState = q('UPDATE dirs SET deleted = ?, mtime = ? WHERE node_id = ?');
    this.moveDir = q('UPDATE dirs SET parent_id = ?, name = ? WHERE node_id = ?');

    this.fileByName = q(`SELECT ${FILE_COLS} FROM files WHERE parent_id = ? AND name = ?`);
    this.fileChildren = q(`SELECT ${FILE_COLS} FROM files WHERE parent_id = ? ORDER BY name`);
    this.fileChildrenAfter = q(`SELECT ${FILE_COLS} FROM files WHERE parent_id = ? AND name > ? ORDER BY name LIMIT ?`);
    this.fileInDir = q(`SELECT ${FILE_COLS} FROM files WHERE parent_id = ? AND node_id = ?`);
    this.insertFile = q('INSERT INTO files (parent_id, name, node_id, k, size, mtime, hash) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.updateFile = q('UPDATE files SET k = ?, size = ?, mtime = ?, hash = ? WHERE parent_id = ? AND name = ?');
    this.moveFile = q('UPDATE files SET parent_id = ?, name = ? WHERE parent_id = ? AND name = ?');

    this.rangeParent = one('SELECT parent_id FROM file_ranges WHERE first <= ? ORDER BY first DESC LIMIT 1');
    this.insertRange = q('INSERT OR REPLACE INTO file_ranges (first, parent_id) VALUES (?, ?)');
    this.movedParent = one('SELECT parent_id FROM file_moves WHERE node_id = ?');
    this.setMove = q('INSERT OR REPLACE INTO file_moves (node_id, parent_id) VALUES (?, ?)');
    this.clearMove = q('DELETE FROM file_moves WHERE node_id = ?');

    // OR IGNORE: a node changed twice within one snapshot keeps the state it
    // had before that snapshot, which is the version worth remembering.
    this.insertVersion = q('INSERT OR IGNORE INTO versions (node_id, seq, k, size, mtime, hash) VALUES (?, ?, ?, ?, ?, ?)');
    this.versionsOf = q('SELECT seq, k, size, mtime, hash FROM versions WHERE node_id = ? ORDER BY seq DESC');

    this.snapshots = q('SELECT seq, id, time_ms, first_dir, first_file, state FROM snapshots ORDER BY seq');
    this.insertSnapshot = q('INSERT INTO snapshots (id, time_ms, first_dir, first_file, state) VALUES (?, ?, ?, ?, 0)');
    this.finishSnapshot = q('UPDATE snapshots SET state = 1 WHERE seq = ?');

    this.getMeta = one('SELECT value FROM meta WHERE key = ?');
    this.setMeta = q('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');

    this.countDirs = one('SELECT count(*) FROM dirs');
    this.countFiles = one('SELECT count(*) FROM files');
    this.pageCount = one('PRAGMA page_count');
    this.pageSize = one('PRAGMA page_size');
    this.dataVersion = one('PRAGMA data_version');
  }
}
