import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hasCode } from '../../protocol/errors.ts';
import { Catalog, CatalogErrorCode, NodeKind, type CatalogEntry, type DirListing } from './index.ts';

const file = (name: string, size: number, hash: bigint, mtimeMs = 1_700_000_000_000): CatalogEntry => ({ name, kind: NodeKind.File, size, mtimeMs, hash });
const dir = (name: string, mtimeMs = 1_700_000_000_000): CatalogEntry => ({ name, kind: NodeKind.Dir, size: 0, mtimeMs, hash: 0n });
const list = (path: string[], entries: CatalogEntry[], complete = true): DirListing => ({ path, complete, entries });
const snap = (id: string, minute: number) => ({ id, time: new Date(Date.UTC(2024, 0, 1, 0, minute)) });

/** Every tree row, for before/after comparisons (a second connection, so the catalog's own state is untouched). */
function dumpRows(path: string): string[] {
  const db = new Database(path, { readonly: true });
  try {
    const rows = [
      ...db.prepare('SELECT * FROM dirs ORDER BY node_id').safeIntegers(true).all(),
      ...db.prepare('SELECT * FROM files ORDER BY node_id').safeIntegers(true).all(),
      ...db.prepare('SELECT * FROM file_moves ORDER BY node_id').safeIntegers(true).all(),
    ];
    return rows.map((r) => JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
  } finally {
    db.close();
  }
}

function changedRows(before: string[], after: string[]): number {
  const a = new Set(after);
  const b = new Set(before);
  return before.filter((r) => !a.has(r)).length + after.filter((r) => !b.has(r)).length;
}

/** A snapshot history exercising changes, deletes, reappearance and kind changes. */
const S1 = [
  list([], [dir('docs'), file('a.txt', 10, -5n)]),
  list(['docs'], [file('r1.pdf', 100, 1n), file('r2.pdf', 200, 2n), dir('sub')]),
  list(['docs', 'sub'], [file('x.log', 1, 3n)]),
];
const S2 = [
  list([], [dir('docs'), file('a.txt', 10, -5n)]),
  list(['docs'], [file('r1.pdf', 150, 11n, 1_700_000_100_500)]), // r1 changed; r2 and sub gone
];
const S3 = [
  list([], [dir('docs'), dir('a.txt')]), // a.txt: file -> directory
  list(['a.txt'], []),
  list(['docs'], [file('r1.pdf', 150, 11n, 1_700_000_100_500), file('r2.pdf', 201, 22n)]), // r2 is back
];

describe('Catalog', () => {
  let dirPath: string;
  let dbPath: string;
  let cat: Catalog;

  beforeEach(() => {
    dirPath = mkdtempSync(join(tmpdir(), 'ferry-catalog-'));
    dbPath = join(dirPath, 'state', 'cat.sqlite');
    cat = Catalog.open(dbPath);
  });
  afterEach(() => {
    cat.close();
    rmSync(dirPath, { recursive: true, force: true });
  });

  it('creates its directory 0700 and file 0600 with a fixed root', () => {
    expect(statSync(join(dirPath, 'state')).mode & 0o777).toBe(0o700);
    expect(statSync(dbPath).mode & 0o777).toBe(0o600);
    expect(cat.lookup([])).toMatchObject({ nodeId: 1n, parentId: 0n, name: '', kind: 'dir', deleted: false });
    expect(cat.pathOf(1n)).toEqual([]);
  });

  it('indexes a snapshot: lookup, pathOf, children', async () => {
    const r = await cat.applySnapshot(snap('s1', 1), S1);
    expect(r).toEqual({ seq: 1, added: 6, changed: 0, deleted: 0 });
    expect(cat.hasSnapshot('s1')).toBe(true);
    const r1 = cat.lookup(['docs', 'r1.pdf']);
    expect(r1).toMatchObject({ name: 'r1.pdf', kind: 'file', size: 100, hash: 1n, deleted: false, mtimeMs: 1_700_000_000_000 });
    expect(r1!.nodeId < 0n).toBe(true);
    expect(cat.lookup(['a.txt'])?.hash).toBe(-5n);
    expect(cat.pathOf(r1!.nodeId)).toEqual(['docs', 'r1.pdf']);
    const x = cat.lookup(['docs', 'sub', 'x.log'])!;
    expect(cat.pathOf(x.nodeId)).toEqual(['docs', 'sub', 'x.log']);
    expect(cat.pathOf(x.parentId)).toEqual(['docs', 'sub']);
    expect(cat.lookup(['docs', 'nope'])).toBeUndefined();
    expect(cat.lookup(['nope', 'r1.pdf'])).toBeUndefined();
    expect([...cat.children(1n)].map((n) => n.name)).toEqual(['a.txt', 'docs']);
    const docs = cat.lookup(['docs'])!;
    expect([...cat.children(docs.nodeId)].map((n) => [n.name, n.kind])).toEqual([
      ['r1.pdf', 'file'],
      ['r2.pdf', 'file'],
      ['sub', 'dir'],
    ]);
  });

  it('keeps per-file history across changes, deletes and reappearance', async () => {
    await cat.applySnapshot(snap('s1', 1), S1);
    expect(await cat.applySnapshot(snap('s2', 2), S2)).toEqual({ seq: 2, added: 0, changed: 1, deleted: 3 });
    expect(cat.lookup(['docs', 'sub'])?.deleted).toBe(true);
    expect(cat.lookup(['docs', 'sub', 'x.log'])?.deleted).toBe(true);
    // Millisecond mtimes are kept as whole seconds.
    expect(cat.lookup(['docs', 'r1.pdf'])?.mtimeMs).toBe(1_700_000_100_000);

    expect(await cat.applySnapshot(snap('s3', 3), S3)).toEqual({ seq: 3, added: 2, changed: 0, deleted: 1 });
    expect(cat.lookup(['a.txt'])).toMatchObject({ kind: 'dir', deleted: false });

    const h1 = cat.history(['docs', 'r1.pdf']);
    expect(h1.map((v) => [v.snapshotId, v.size, v.hash, v.deleted])).toEqual([
      ['s2', 150, 11n, false],
      ['s1', 100, 1n, false],
    ]);
    expect(h1[0]!.snapshotTime).toEqual(snap('s2', 2).time);
    expect(cat.history(['docs', 'r2.pdf']).map((v) => [v.snapshotId, v.size, v.hash, v.deleted])).toEqual([
      ['s3', 201, 22n, false],
      ['s2', 200, 2n, true],
      ['s1', 200, 2n, false],
    ]);
    expect(cat.history(['docs', 'sub', 'x.log']).map((v) => [v.snapshotId, v.deleted])).toEqual([
      ['s2', true],
      ['s1', false],
    ]);
    expect(cat.history(['docs', 'missing'])).toEqual([]);
  });

  it('tracks symlinks and other kinds, and revives a directory without its unlisted children', async () => {
    const link: CatalogEntry = { name: 'link', kind: NodeKind.Symlink, size: 7, mtimeMs: 0, hash: 70n };
    const fifo: CatalogEntry = { name: 'fifo', kind: NodeKind.Other, size: 0, mtimeMs: 0, hash: 0n };
    // Applies queued back to back run one after the other.
    const [r1, r2] = await Promise.all([
      cat.applySnapshot(snap('s1', 1), [...S1, list(['docs', 'sub'], [file('x.log', 1, 3n), link, fifo])]),
      cat.applySnapshot(snap('s2', 2), [list([], [file('a.txt', 10, -5n)])]), // docs disappears
    ]);
    expect(r1.seq).toBe(1);
    expect(r2).toEqual({ seq: 2, added: 0, changed: 0, deleted: 7 });
    expect(cat.lookup(['docs', 'sub', 'link'])).toMatchObject({ kind: 'symlink', size: 7, hash: 70n, deleted: true });
    expect(cat.lookup(['docs', 'sub', 'fifo'])).toMatchObject({ kind: 'other', deleted: true });

    const r3 = await cat.applySnapshot(snap('s3', 3), [list([], [dir('docs'), file('a.txt', 10, -5n)]), list(['docs'], [file('r1.pdf', 100, 1n)], false)]);
    expect(r3).toEqual({ seq: 3, added: 2, changed: 0, deleted: 0 });
    expect(cat.lookup(['docs'])?.deleted).toBe(false);
    expect(cat.lookup(['docs', 'r2.pdf'])?.deleted).toBe(true);
    expect(cat.history(['docs']).map((v) => [v.snapshotId, v.deleted])).toEqual([
      ['s3', false],
      ['s2', true],
      ['s1', false],
    ]);
  });

  it('complete=false upserts without deleting siblings; missing ancestors are created', async () => {
    await cat.applySnapshot(snap('s1', 1), S1);
    const r = await cat.applySnapshot(snap('s2', 2), [list([], [dir('docs')], false), list(['docs'], [file('new.txt', 5, 9n)], false), list(['x', 'y'], [file('z', 1, 1n)])]);
    expect(r).toEqual({ seq: 2, added: 4, changed: 0, deleted: 0 });
    for (const p of [['a.txt'], ['docs', 'r1.pdf'], ['docs', 'r2.pdf'], ['docs', 'sub', 'x.log'], ['docs', 'new.txt'], ['x', 'y', 'z']]) {
      expect(cat.lookup(p)?.deleted, p.join('/')).toBe(false);
    }
  });

  it('re-applying a snapshot id is a no-op that does not read the listings', async () => {
    await cat.applySnapshot(snap('s1', 1), S1);
    await cat.applySnapshot(snap('s2', 2), S2);
    const before = dumpRows(dbPath);
    function* untouchable(): Generator<DirListing> {
      throw new Error('listings must not be read');
    }
    expect(await cat.applySnapshot(snap('s2', 2), untouchable())).toEqual({ seq: 2, added: 0, changed: 0, deleted: 0 });
    expect(dumpRows(dbPath)).toEqual(before);
  });

  it('resumes an interrupted snapshot under the same seq', async () => {
    await cat.applySnapshot(snap('s1', 1), S1);
    async function* failing(): AsyncGenerator<DirListing> {
      yield* S3.slice(0, 2);
      throw new Error('source went away');
    }
    const small = Catalog.open(join(dirPath, 'other.sqlite'), { batchRows: 1 });
    try {
      await small.applySnapshot(snap('s1', 1), S1);
      await expect(small.applySnapshot(snap('s3', 3), failing())).rejects.toThrow('source went away');
      expect(small.hasSnapshot('s3')).toBe(false);
      expect(await small.applySnapshot(snap('s3', 3), S3)).toMatchObject({ seq: 2 });
      await cat.applySnapshot(snap('s3', 3), S3);
      expect(small.history(['docs', 'r2.pdf'])).toEqual(cat.history(['docs', 'r2.pdf']));
      expect(small.history(['a.txt'])).toEqual(cat.history(['a.txt']));
      expect(small.stats().nodes).toBe(cat.stats().nodes);
    } finally {
      small.close();
    }
  });

  it('rejects snapshots older than the newest applied one', async () => {
    await cat.applySnapshot(snap('s2', 2), S1);
    const err = await cat.applySnapshot(snap('s1', 1), S2).catch((e: unknown) => e);
    expect(hasCode(err, CatalogErrorCode.OutOfOrder)).toBe(true);
  });

  it('renames a directory by updating one row', async () => {
    await cat.applySnapshot(snap('s1', 1), S1);
    const docs = cat.lookup(['docs'])!;
    const x = cat.lookup(['docs', 'sub', 'x.log'])!;
    const before = dumpRows(dbPath);
    expect(cat.rename(docs.nodeId, 1n, 'papers')).toBe(1);
    expect(changedRows(before, dumpRows(dbPath))).toBe(2); // one row, old and new image
    expect(cat.pathOf(x.nodeId)).toEqual(['papers', 'sub', 'x.log']);
    expect(cat.lookup(['papers', 'sub', 'x.log'])?.nodeId).toBe(x.nodeId);
    expect(cat.lookup(['docs'])).toBeUndefined();

    const sub = cat.lookup(['papers', 'sub'])!;
    expect(hasCode(catchErr(() => cat.rename(docs.nodeId, sub.nodeId, 'loop')), CatalogErrorCode.Conflict)).toBe(true);
    expect(hasCode(catchErr(() => cat.rename(sub.nodeId, 1n, 'a.txt')), CatalogErrorCode.Conflict)).toBe(true);
  });

  it('renames and moves files', async () => {
    await cat.applySnapshot(snap('s1', 1), S1);
    const r1 = cat.lookup(['docs', 'r1.pdf'])!;
    const sub = cat.lookup(['docs', 'sub'])!;
    let before = dumpRows(dbPath);
    expect(cat.rename(r1.nodeId, r1.parentId, 'renamed.pdf')).toBe(1);
    expect(changedRows(before, dumpRows(dbPath))).toBe(2);
    expect(cat.pathOf(r1.nodeId)).toEqual(['docs', 'renamed.pdf']);
    // Moving to another directory also records the file's new parent.
    before = dumpRows(dbPath);
    expect(cat.rename(r1.nodeId, sub.nodeId, 'moved.pdf')).toBe(2);
    expect(changedRows(before, dumpRows(dbPath))).toBe(3);
    expect(cat.pathOf(r1.nodeId)).toEqual(['docs', 'sub', 'moved.pdf']);
    expect(cat.history(['docs', 'sub', 'moved.pdf'])).toHaveLength(1);
    expect(cat.rename(r1.nodeId, r1.parentId, 'r1.pdf')).toBe(2);
    expect(cat.pathOf(r1.nodeId)).toEqual(['docs', 'r1.pdf']);
    expect(hasCode(catchErr(() => cat.rename(r1.nodeId, r1.parentId, 'r2.pdf')), CatalogErrorCode.Conflict)).toBe(true);
    expect(hasCode(catchErr(() => cat.rename(r1.nodeId, r1.parentId, 'a/b')), CatalogErrorCode.Invalid)).toBe(true);
  });

  it('sorts children by UTF-8 bytes, merging files and directories', async () => {
    const names = ['b', 'B', 'a', '\u{1F600}', '\uFFFD', 'é', 'a.b', 'a-b'];
    await cat.applySnapshot(snap('s1', 1), [list([], names.map((n, i) => (i % 2 ? dir(n) : file(n, i, BigInt(i)))))]);
    const expected = [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect([...cat.children(1n)].map((n) => n.name)).toEqual(expected);
  });

  it('pages through large directories', async () => {
    const entries = Array.from({ length: 1300 }, (_, i) => (i % 10 === 0 ? dir(`n${i}`) : file(`n${i}`, i, BigInt(i))));
    await cat.applySnapshot(snap('s1', 1), [list([], entries)]);
    const seen = [...cat.children(1n)].map((n) => n.name);
    expect(seen).toHaveLength(1300);
    expect(seen).toEqual([...seen].sort());
  });

  it('reset drops everything and replay rebuilds the same history', async () => {
    await cat.applySnapshot(snap('s1', 1), S1);
    await cat.applySnapshot(snap('s2', 2), S2);
    await cat.applySnapshot(snap('s3', 3), S3);
    const history = cat.history(['docs', 'r2.pdf']);
    cat.reset();
    expect(cat.hasSnapshot('s1')).toBe(false);
    expect(cat.stats()).toMatchObject({ nodes: 1, dirs: 1, files: 0 });
    await cat.applySnapshot(snap('s1', 1), S1);
    await cat.applySnapshot(snap('s2', 2), S2);
    await cat.applySnapshot(snap('s3', 3), S3);
    expect(cat.history(['docs', 'r2.pdf'])).toEqual(history);
  });

  it('reports typed errors', async () => {
    expect(hasCode(catchErr(() => cat.pathOf(-999n)), CatalogErrorCode.NotFound)).toBe(true);
    expect(hasCode(catchErr(() => cat.pathOf(999n)), CatalogErrorCode.NotFound)).toBe(true);
    expect(hasCode(catchErr(() => cat.children(-1n)), CatalogErrorCode.NotFound)).toBe(true);
    expect(hasCode(catchErr(() => Catalog.open(join(dirPath, 'missing.sqlite'), { readonly: true })), CatalogErrorCode.NotFound)).toBe(true);
    const junk = join(dirPath, 'junk.sqlite');
    writeFileSync(junk, 'this is not a database'.repeat(500));
    const corrupt = catchErr(() => Catalog.open(junk));
    expect(hasCode(corrupt, CatalogErrorCode.Corrupt)).toBe(true);
    expect((corrupt as Error).cause).toBeDefined();
    const bad = await cat.applySnapshot(snap('s1', 1), [list([], [file('a/b', 1, 1n)])]).catch((e: unknown) => e);
    expect(hasCode(bad, CatalogErrorCode.Invalid)).toBe(true);
  });

  it('maps a held write lock to retryable catalog.locked', async () => {
    await cat.applySnapshot(snap('s1', 1), S1);
    const other = Catalog.open(dbPath, { busyTimeoutMs: 50 });
    const locker = new Database(dbPath);
    try {
      locker.exec('BEGIN IMMEDIATE');
      const err = await other.applySnapshot(snap('s2', 2), S2).catch((e: unknown) => e);
      expect(hasCode(err, CatalogErrorCode.Locked)).toBe(true);
      expect((err as { retryable: boolean }).retryable).toBe(true);
      locker.exec('ROLLBACK');
      expect(await other.applySnapshot(snap('s2', 2), S2)).toMatchObject({ seq: 2, changed: 1 });
    } finally {
      locker.close();
      other.close();
    }
  });

  it('opens read-only, and close is idempotent', async () => {
    await cat.applySnapshot(snap('s1', 1), S1);
    const ro = Catalog.open(dbPath, { readonly: true });
    expect(ro.lookup(['docs', 'r1.pdf'])?.size).toBe(100);
    expect(hasCode(catchErr(() => ro.reset()), CatalogErrorCode.ReadOnly)).toBe(true);
    ro.close();
    ro.close();
    expect(hasCode(catchErr(() => ro.lookup([])), CatalogErrorCode.Closed)).toBe(true);
  });
});

function catchErr(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}
