/**
 * The catalog: a local SQLite node tree per (repository, source), holding
 * every node the source's snapshots contained and each file's history.
 *
 * It is derived data (an index for lookups, `ferry log` and analytics):
 * `reset()` followed by `applySnapshot()` of every snapshot in time order
 * rebuilds it exactly, which is what `ferry catalog rebuild` does.
 *
 * Design notes (measurements from catalog-size.bench.ts on the synthetic
 * tree of synthetic-tree.ts, names averaging 15.5 bytes, 5% directories):
 * - 47.3 bytes per node on disk at 1,000,000 nodes (48.0 at 10M) after
 *   compaction, against a budget of 50; schema.ts explains where they go.
 * - mtime is stored as whole Unix SECONDS (mtimeMs values come back
 *   truncated to a multiple of 1000): milliseconds cost 2 bytes per file
 *   (49.3 / 50.0 bytes per node), no headroom left (see node-codes.ts).
 * - Names only, never full paths: a path is rebuilt by walking parent ids,
 *   and renaming a directory rewrites one row.
 * - Path lookup is one index descent per component: median ~70 µs at 1M
 *   nodes (~100 µs at 10M) for paths ~12 components deep.
 * - Node ids: directories > 0 (root 1, parent 0), other kinds < 0.
 *
 * Concurrency: one Catalog object per process and file; applySnapshot calls
 * on it are serialised. Other processes may read while one writes (WAL);
 * a write lock held past busy_timeout surfaces as catalog.locked (retryable).
 */
import Database from 'better-sqlite3';
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { hasCode } from '../../protocol/errors.ts';
import { CatalogError, CatalogErrorCode, fromSqlite } from './errors.ts';
import { buildHistory, snapshotInfo, type SnapshotInfo } from './history.ts';
import { checkName, isDeletedK, ROOT_ID } from './node-codes.ts';
import { MetaKey, prepareSchema, seedRows, TABLES } from './schema.ts';
import { SnapshotApplier } from './snapshot-applier.ts';
import { Statements } from './statements.ts';
import { notFound, TreeReader } from './tree-reader.ts';
import type { ApplyResult, CatalogNode, CatalogStats, DirListing, FileVersion, Listings, SnapshotRef } from './types.ts';

export interface CatalogOpenOptions {
  readonly readonly?: boolean;
  /** Rows written per transaction while applying a snapshot; default 10,000. */
  readonly batchRows?: number;
  /** How long to wait for another connection's lock before catalog.locked; default 5,000 ms. */
  readonly busyTimeoutMs?: number;
}

export class Catalog {
  readonly file: string;
  readonly readonly: boolean;
  private readonly db: Database.Database;
  private readonly s: Statements;
  private readonly tree: TreeReader;
  private readonly batchRows: number;
  /** Cached snapshots table, valid while data_version (other connections' commits) stays `snapsVersion`. */
  private snaps: SnapshotInfo[] | undefined;
  private snapsVersion = -1n;
  private queue: Promise<unknown> = Promise.resolve();
  private applying = false;
  private closed = false;

  private constructor(file: string, db: Database.Database, readonly: boolean, batchRows: number) {
    this.file = file;
    this.db = db;
    this.readonly = readonly;
    this.batchRows = batchRows;
    this.s = new Statements(db);
    this.tree = new TreeReader(this.s);
  }

  /**
   * Opens (creating if needed, unless read-only) the catalog at `file`.
   * New directories get mode 0700 and a new file 0600. Throws
   * catalog.not-found (read-only and missing), catalog.corrupt (not a
   * catalog) or catalog.version (newer schema).
   */
  static open(file: string, opts: CatalogOpenOptions = {}): Catalog {
    const readonly = opts.readonly ?? false;
    const memory = file === ':memory:';
    if (readonly && !memory && !existsSync(file)) {
      throw new CatalogError(CatalogErrorCode.NotFound, `catalog ${file} does not exist`, { details: { file } });
    }
    let db: Database.Database | undefined;
    try {
      if (!readonly && !memory) {
        mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
        if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
      }
      db = new Database(file, { readonly, fileMustExist: readonly });
      prepareSchema(db, file, readonly, opts.busyTimeoutMs ?? 5000);
      return new Catalog(file, db, readonly, opts.batchRows ?? 10_000);
    } catch (err) {
      db?.close();
      throw fromSqlite(err, 'open', file);
    }
  }

  /** Closes the connection; safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  /** True once snapshot `snapshotId` has been applied completely. */
  hasSnapshot(snapshotId: string): boolean {
    return this.guard('hasSnapshot', () => this.snapshots().some((s) => s.id === snapshotId && s.applied));
  }

  /**
   * Applies one snapshot's listings (parent before child). Idempotent: an id
   * already applied returns its seq with zero counts without reading
   * `listings`; an id whose application was interrupted is resumed under
   * the same seq. Snapshots must come in time order: one older than any
   * applied snapshot throws catalog.out-of-order (rebuild instead).
   * Compacts the file afterwards when the snapshot at least doubled it (the
   * first one always), since pre-order inserts leave b-tree pages part-full.
   */
  applySnapshot(snap: SnapshotRef, listings: Listings): Promise<ApplyResult> {
    const run = this.queue.then(() => this.applyNow(snap, listings));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async applyNow(snap: SnapshotRef, listings: Listings): Promise<ApplyResult> {
    this.checkWritable('applySnapshot');
    const timeMs = snap.time.getTime();
    if (typeof snap.id !== 'string' || snap.id.length === 0 || !Number.isFinite(timeMs)) {
      throw new CatalogError(CatalogErrorCode.Invalid, `invalid snapshot reference ${String(snap.id)}`, { details: { id: String(snap.id) } });
    }
    const seen = this.guard('applySnapshot', () => this.snapshots().find((s) => s.id === snap.id));
    if (seen?.applied) return { seq: seen.seq, added: 0, changed: 0, deleted: 0 };
    const newer = this.guard('applySnapshot', () => this.snapshots().some((s) => s.id !== snap.id && s.time.getTime() > timeMs));
    if (newer) {
      throw new CatalogError(CatalogErrorCode.OutOfOrder, `snapshot ${snap.id} is older than the newest applied snapshot; rebuild the catalog`, {
        details: { id: snap.id, time: snap.time.toISOString() },
      });
    }
    this.applying = true;
    let applier: SnapshotApplier | undefined;
    try {
      const seq = seen?.seq ?? this.guard('applySnapshot', () => this.startSnapshot(snap.id, timeMs));
      const nodesBefore = this.guard('applySnapshot', () => this.allocatedNodes());
      const a = new SnapshotApplier(this.db, this.s, seq, this.batchRows);
      applier = a;
      this.guard('applySnapshot', () => a.begin());
      const step = (l: DirListing): void => {
        if (this.closed) throw new CatalogError(CatalogErrorCode.Closed, `catalog ${this.file} was closed during applySnapshot`);
        a.apply(l);
      };
      if (Symbol.asyncIterator in listings) for await (const l of listings) this.guard('applySnapshot', () => step(l));
      else for (const l of listings) this.guard('applySnapshot', () => step(l));
      this.guard('applySnapshot', () => a.finish());
      this.snaps = undefined;
      const { added, changed, deleted } = a.counts;
      if (added > 0 && added >= nodesBefore) this.compactAfterImport();
      return { seq, added, changed, deleted };
    } catch (err) {
      try {
        if (!this.closed) applier?.abort();
      } catch {
        // The original failure matters more than a failed rollback.
      }
      this.snaps = undefined;
      // Catalog failures are already CatalogErrors (guard); anything else
      // came from the listings source and is the caller's to interpret.
      throw err;
    } finally {
      this.applying = false;
    }
  }

  /** Best effort: the snapshot is already committed, so another process holding the lock only postpones compaction. */
  private compactAfterImport(): void {
    try {
      this.guard('compact', () => this.vacuum());
    } catch (err) {
      if (!hasCode(err, CatalogErrorCode.Locked)) throw err;
    }
  }

  private startSnapshot(id: string, timeMs: number): number {
    const firstDir = this.s.getMeta.get(MetaKey.NextDir) ?? ROOT_ID + 1n;
    const firstFile = this.s.getMeta.get(MetaKey.NextFile) ?? 1n;
    const seq = Number(this.s.insertSnapshot.run(id, timeMs, firstDir, firstFile).lastInsertRowid);
    this.snaps = undefined;
    return seq;
  }

  /** Nodes ever allocated (root included): cheap stand-in for the row count. */
  private allocatedNodes(): number {
    const dirs = Number(this.s.getMeta.get(MetaKey.NextDir) ?? 2n) - 1;
    const files = Number(this.s.getMeta.get(MetaKey.NextFile) ?? 1n) - 1;
    return dirs + files;
  }

  /** The node at `path` (components from the root; [] is the root), deleted ones included. */
  lookup(path: readonly string[]): CatalogNode | undefined {
    return this.guard('lookup', () => this.tree.lookup(path));
  }

  /** Path components of `nodeId` from the root. Throws catalog.not-found for unknown ids. */
  pathOf(nodeId: bigint): string[] {
    return this.guard('pathOf', () => this.tree.pathOf(nodeId));
  }

  /** Children of directory `nodeId` sorted by name (UTF-8 byte order), deleted ones included. */
  children(nodeId: bigint): IterableIterator<CatalogNode> {
    this.guard('children', () => this.tree.requireDir(nodeId));
    const inner = this.tree.children(nodeId);
    const guard = this.guard.bind(this);
    function* mapped(): Generator<CatalogNode> {
      for (;;) {
        const r = guard('children', () => inner.next());
        if (r.done) return;
        yield r.value;
      }
    }
    return mapped();
  }

  /** Every version of the node at `path`, newest first, the current one included; [] if unknown. */
  history(path: readonly string[]): FileVersion[] {
    return this.guard('history', () => {
      const node = this.tree.lookup(path);
      return node ? buildHistory(node, this.s.versionsOf.all(node.nodeId), this.snapshots()) : [];
    });
  }

  /**
   * Moves/renames a node. A directory, or a file staying in its directory,
   * is one row update (its children reference its id, not its path). A file
   * moved to another directory also records its new parent in file_moves,
   * because files are not indexed by id. Returns the rows written.
   * Throws catalog.conflict if the target name is taken or a directory
   * would move into its own subtree.
   */
  rename(nodeId: bigint, newParentId: bigint, newName: string): number {
    this.checkWritable('rename');
    checkName(newName);
    return this.guard('rename', () => {
      this.tree.requireDir(newParentId);
      if (nodeId === ROOT_ID) throw new CatalogError(CatalogErrorCode.Invalid, 'the root cannot be renamed');
      const otherDir = this.s.dirByName.get(newParentId, newName);
      const otherFile = this.s.fileByName.get(newParentId, newName);
      if (nodeId > 0n) {
        const d = this.tree.requireDir(nodeId);
        if (d.parent_id === newParentId && d.name === newName) return 0;
        const taken = otherDir !== undefined || (otherFile !== undefined && !isDeletedK(Number(otherFile.k)) && d.deleted === 0n);
        if (taken) throw conflict(newParentId, newName);
        for (let cur = newParentId; cur !== ROOT_ID; cur = this.tree.requireDir(cur).parent_id) {
          if (cur === nodeId) throw new CatalogError(CatalogErrorCode.Conflict, `cannot move directory ${nodeId} into itself`);
        }
        return this.s.moveDir.run(newParentId, newName, nodeId).changes;
      }
      const f = this.tree.fileRow(nodeId);
      if (!f) throw notFound(nodeId);
      if (f.parent_id === newParentId && f.name === newName) return 0;
      const taken = otherFile !== undefined || (otherDir !== undefined && otherDir.deleted === 0n && !isDeletedK(Number(f.k)));
      if (taken) throw conflict(newParentId, newName);
      this.db.exec('BEGIN IMMEDIATE');
      try {
        let rows = this.s.moveFile.run(newParentId, newName, f.parent_id, f.name).changes;
        if (newParentId !== f.parent_id) {
          const home = this.s.rangeParent.get(-nodeId);
          rows += home === newParentId ? this.s.clearMove.run(nodeId).changes : this.s.setMove.run(nodeId, newParentId).changes;
        }
        this.db.exec('COMMIT');
        return rows;
      } catch (err) {
        this.db.exec('ROLLBACK');
        throw err;
      }
    });
  }

  stats(): CatalogStats {
    return this.guard('stats', () => {
      const dirs = Number(this.s.countDirs.get() ?? 0n);
      const files = Number(this.s.countFiles.get() ?? 0n);
      const bytes = Number(this.s.pageCount.get() ?? 0n) * Number(this.s.pageSize.get() ?? 0n);
      const nodes = dirs + files;
      return { nodes, files, dirs, bytes, bytesPerNode: nodes > 0 ? bytes / nodes : 0 };
    });
  }

  /**
   * Rewrites the file in key order (VACUUM) so pages are full, then
   * truncates the WAL. applySnapshot calls it after large imports.
   */
  compact(): void {
    this.checkWritable('compact');
    this.guard('compact', () => this.vacuum());
  }

  private vacuum(): void {
    this.db.exec(this.file === ':memory:' ? 'VACUUM' : 'VACUUM; PRAGMA wal_checkpoint(TRUNCATE);');
  }

  /** Drops every row (the root and counters are recreated); used before a rebuild. */
  reset(): void {
    this.checkWritable('reset');
    this.guard('reset', () => {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        this.db.exec(TABLES.map((t) => `DELETE FROM ${t};`).join('\n'));
        seedRows(this.db);
        this.db.exec('COMMIT');
      } catch (err) {
        this.db.exec('ROLLBACK');
        throw err;
      } finally {
        this.snaps = undefined;
      }
    });
  }

  private snapshots(): SnapshotInfo[] {
    const version = this.s.dataVersion.get() ?? 0n;
    if (!this.snaps || version !== this.snapsVersion) {
      this.snaps = this.s.snapshots.all().map(snapshotInfo);
      this.snapsVersion = version;
    }
    return this.snaps;
  }

  private checkWritable(op: string): void {
    if (this.closed) throw new CatalogError(CatalogErrorCode.Closed, `catalog ${this.file} is closed`, { details: { op } });
    if (this.readonly) throw new CatalogError(CatalogErrorCode.ReadOnly, `catalog ${this.file} was opened read-only`, { details: { op } });
    if (this.applying && op !== 'applySnapshot') {
      throw new CatalogError(CatalogErrorCode.Busy, `catalog ${this.file} is applying a snapshot`, { details: { op } });
    }
  }

  /** Runs `fn`, translating SQLite errors into CatalogErrors. */
  private guard<T>(op: string, fn: () => T): T {
    if (this.closed) throw new CatalogError(CatalogErrorCode.Closed, `catalog ${this.file} is closed`, { details: { op } });
    try {
      return fn();
    } catch (err) {
      throw fromSqlite(err, op, this.file);
    }
  }
}

function conflict(parentId: bigint, name: string): CatalogError {
  return new CatalogError(CatalogErrorCode.Conflict, `name ${JSON.stringify(name)} is taken in directory ${parentId}`, {
    details: { parentId: parentId.toString(), name },
  });
}
