/**
 * Applies one snapshot's directory listings to the node tree.
 *
 * Contract with Catalog.applySnapshot: construct with the snapshot's seq
 * once its row exists, call begin(), apply() every listing in order, then
 * finish() (or abort() on failure). Writes are committed every `batchRows`
 * row writes together with the id counters, so an interrupted snapshot can
 * be re-applied under the same seq: re-applying a listing whose values are
 * already stored writes nothing.
 *
 * Rules (see DirListing): a listing's directory and its ancestors are made
 * to exist; complete listings delete the children they omit; a directory
 * deletion deletes its live subtree; a kind change between directory and
 * non-directory deletes the old node and creates (or revives) one of the
 * other kind. Every deletion, revival and content change of a
 * non-directory first copies the old state to `versions`.
 */
import type Database from 'better-sqlite3';
import { CatalogError, CatalogErrorCode } from './errors.ts';
import { checkName, encodeK, isDeletedK, ROOT_ID, toStoredMtime } from './node-codes.ts';
import { compareNames } from '../repo/tree.ts';
import { MetaKey } from './schema.ts';
import type { DirRow, FileRow, Statements } from './statements.ts';
import { NodeKind, type CatalogEntry, type DirListing } from './types.ts';

export interface ApplyCounts {
  added: number;
  changed: number;
  deleted: number;
}

export class SnapshotApplier {
  readonly counts: ApplyCounts = { added: 0, changed: 0, deleted: 0 };
  private readonly db: Database.Database;
  private readonly s: Statements;
  private readonly seq: number;
  private readonly batchRows: number;
  private nextDir: bigint;
  private nextFile: bigint;
  /** Directory the last allocated file id went to; a new one starts a file_ranges run. */
  private rangeParent: bigint | undefined;
  /** Directory chain of the previous listing; pre-order makes most lookups hits. */
  private chain: { name: string; id: bigint }[] = [];
  private pending = 0;
  private open = false;

  constructor(db: Database.Database, s: Statements, seq: number, batchRows: number) {
    this.db = db;
    this.s = s;
    this.seq = seq;
    this.batchRows = batchRows;
    this.nextDir = s.getMeta.get(MetaKey.NextDir) ?? ROOT_ID + 1n;
    this.nextFile = s.getMeta.get(MetaKey.NextFile) ?? 1n;
  }

  begin(): void {
    this.db.exec('BEGIN IMMEDIATE');
    this.open = true;
  }

  apply(listing: DirListing): void {
    const dirId = this.resolveDir(listing.path);
    const entries = sortedUnique(listing.entries);
    if (!listing.complete) {
      for (const e of entries) {
        this.applyEntry(dirId, e, this.s.dirByName.get(dirId, e.name), this.s.fileByName.get(dirId, e.name));
        this.maybeCommit();
      }
      return;
    }
    const dirs = new Map<string, DirRow>();
    for (const r of this.s.dirChildren.all(dirId)) dirs.set(r.name, r);
    const files = new Map<string, FileRow>();
    for (const r of this.s.fileChildren.all(dirId)) files.set(r.name, r);
    for (const e of entries) {
      this.applyEntry(dirId, e, dirs.get(e.name), files.get(e.name));
      dirs.delete(e.name);
      files.delete(e.name);
      this.maybeCommit();
    }
    for (const f of files.values()) if (!isDeletedK(Number(f.k))) this.deleteFile(f);
    for (const d of dirs.values()) if (d.deleted === 0n) this.deleteDir(d);
    this.maybeCommit();
  }

  finish(): void {
    this.s.finishSnapshot.run(this.seq);
    this.commit();
  }

  abort(): void {
    if (this.open && this.db.inTransaction) this.db.exec('ROLLBACK');
    this.open = false;
  }

  private commit(): void {
    this.s.setMeta.run(MetaKey.NextDir, this.nextDir);
    this.s.setMeta.run(MetaKey.NextFile, this.nextFile);
    this.db.exec('COMMIT');
    this.open = false;
    this.pending = 0;
  }

  private maybeCommit(): void {
    if (this.pending < this.batchRows) return;
    this.commit();
    this.begin();
  }

  private resolveDir(path: readonly string[]): bigint {
    let common = 0;
    while (common < this.chain.length && common < path.length && this.chain[common]?.name === path[common]) common++;
    this.chain.length = common;
    let parent = common > 0 ? (this.chain[common - 1] as { id: bigint }).id : ROOT_ID;
    for (let i = common; i < path.length; i++) {
      const name = path[i] as string;
      checkName(name);
      parent = this.ensureDir(parent, name);
      this.chain.push({ name, id: parent });
    }
    return parent;
  }

  /** A directory implied by a listing's path but not listed by its parent: make it exist and live. */
  private ensureDir(parent: bigint, name: string): bigint {
    const f = this.s.fileByName.get(parent, name);
    if (f && !isDeletedK(Number(f.k))) this.deleteFile(f);
    const d = this.s.dirByName.get(parent, name);
    if (d) {
      if (d.deleted !== 0n) this.reviveDir(d, d.mtime);
      return d.node_id;
    }
    return this.insertDir(parent, name, 0);
  }

  private applyEntry(dirId: bigint, e: CatalogEntry, d: DirRow | undefined, f: FileRow | undefined): void {
    checkEntry(e);
    const mtime = toStoredMtime(e.mtimeMs);
    if (e.kind === NodeKind.Dir) {
      if (f && !isDeletedK(Number(f.k))) this.deleteFile(f);
      if (!d) this.insertDir(dirId, e.name, mtime);
      else if (d.deleted !== 0n) this.reviveDir(d, BigInt(mtime));
      else if (d.mtime !== BigInt(mtime)) this.write(this.s.setDirState.run(0, mtime, d.node_id).changes);
      return;
    }
    if (d && d.deleted === 0n) this.deleteDir(d);
    const k = encodeK(e.kind, false);
    const hash = BigInt.asIntN(64, e.hash);
    if (!f) {
      this.insertFile(dirId, e.name, k, e.size, mtime, hash);
      return;
    }
    const oldK = Number(f.k);
    if (isDeletedK(oldK)) this.counts.added++;
    else if (oldK !== k || Number(f.size) !== e.size || Number(f.mtime) !== mtime || f.hash !== hash) this.counts.changed++;
    else return;
    this.saveVersion(f.node_id, oldK, f.size, f.mtime, f.hash);
    this.write(this.s.updateFile.run(k, e.size, mtime, hash, dirId, e.name).changes);
  }

  private insertDir(parent: bigint, name: string, mtime: number): bigint {
    const id = this.nextDir++;
    this.write(this.s.insertDir.run(id, parent, name, mtime).changes);
    this.counts.added++;
    return id;
  }

  private insertFile(parent: bigint, name: string, k: number, size: number, mtime: number, hash: bigint): void {
    const ordinal = this.nextFile++;
    if (this.rangeParent !== parent) {
      this.write(this.s.insertRange.run(ordinal, parent).changes);
      this.rangeParent = parent;
    }
    this.write(this.s.insertFile.run(parent, name, -ordinal, k, size, mtime, hash).changes);
    this.counts.added++;
  }

  private reviveDir(d: DirRow, mtime: bigint): void {
    this.saveVersion(d.node_id, 1, 0n, d.mtime, 0n);
    this.write(this.s.setDirState.run(0, mtime, d.node_id).changes);
    this.counts.added++;
  }

  private deleteFile(f: FileRow): void {
    const k = Number(f.k);
    this.saveVersion(f.node_id, k, f.size, f.mtime, f.hash);
    this.write(this.s.updateFile.run(k | 1, f.size, f.mtime, f.hash, f.parent_id, f.name).changes);
    this.counts.deleted++;
  }

  /**
   * Marks `d` and its whole live subtree deleted, in one transaction: a
   * resumed snapshot skips `d` once it is deleted, so a half-deleted subtree
   * would never be finished.
   */
  private deleteDir(d: DirRow): void {
    // A cached chain entry may be inside the deleted subtree.
    this.chain.length = 0;
    const queue: DirRow[] = [d];
    for (let dir = queue.pop(); dir; dir = queue.pop()) {
      this.saveVersion(dir.node_id, 0, 0n, dir.mtime, 0n);
      this.write(this.s.setDirState.run(1, dir.mtime, dir.node_id).changes);
      this.counts.deleted++;
      for (const f of this.s.fileChildren.all(dir.node_id)) if (!isDeletedK(Number(f.k))) this.deleteFile(f);
      queue.push(...this.s.liveSubdirs.all(dir.node_id));
    }
  }

  private saveVersion(nodeId: bigint, k: number, size: bigint, mtime: bigint, hash: bigint): void {
    this.write(this.s.insertVersion.run(nodeId, this.seq, k, size, mtime, hash).changes);
  }

  private write(rows: number): void {
    this.pending += rows;
  }
}

/** Entries in key order (so inserts fill pages), last duplicate name winning. */
function sortedUnique(entries: readonly CatalogEntry[]): CatalogEntry[] {
  const sorted = entries.map((e, i) => ({ e, i })).sort((a, b) => compareNames(a.e.name, b.e.name) || a.i - b.i);
  const out: CatalogEntry[] = [];
  for (const { e } of sorted) {
    if (out.length > 0 && (out[out.length - 1] as CatalogEntry).name === e.name) out[out.length - 1] = e;
    else out.push(e);
  }
  return out;
}

function checkEntry(e: CatalogEntry): void {
  checkName(e.name);
  if (!Number.isSafeInteger(e.size) || e.size < 0 || !Number.isFinite(e.mtimeMs) || typeof e.hash !== 'bigint') {
    throw new CatalogError(CatalogErrorCode.Invalid, `invalid catalog entry ${JSON.stringify(e.name)}`, {
      details: { name: e.name, size: e.size, mtimeMs: e.mtimeMs },
    });
  }
  if (e.kind !== NodeKind.File && e.kind !== NodeKind.Dir && e.kind !== NodeKind.Symlink && e.kind !== NodeKind.Other) {
    throw new CatalogError(CatalogErrorCode.Invalid, `unknown kind ${String(e.kind)} for ${JSON.stringify(e.name)}`, { details: { name: e.name } });
  }
}
