/**
 * Unchanged subtrees: a backup with a parent collapses every directory
 * whose subtree did not change into one "u" event, and the snapshot it
 * writes is the one a full re-read would write.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStorage } from '../storage/memory.ts';
import { Repository } from '../repo/repository.ts';
import { BlobWorkers } from '../repo/blob-workers.ts';
import { RepoWriter } from '../repo/repo-writer.ts';
import { BlobType } from '../repo/blob.ts';
import { blobId } from '../crypto/tenant-keys.ts';
import { decodeTree, NodeType } from '../repo/tree.ts';
import { buildSelection } from '../repo/selection.ts';
import type { Snapshot } from '../repo/snapshot.ts';
import { backupLocally } from './local-pipeline.ts';
import { walkSource, walkSourceInArrays } from './scan-walker.ts';
import { batchEvents } from './batcher.ts';
import { decodeEvents, encodeEvents, type ScanEvent } from './scan-events.ts';

let dir: string;
let repo: Repository;
let workers: BlobWorkers;

/**
 * Lets the coarse kernel clock pass the last change: a directory listed in
 * the same tick as its mtime keeps atime <= mtime, so relatime would move
 * its atime again at the next listing.
 */
const settle = () => new Promise((r) => setTimeout(r, 20));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-unchanged-'));
  for (let a = 0; a < 4; a++) {
    for (let b = 0; b < 3; b++) {
      mkdirSync(join(dir, `a${a}`, `b${b}`), { recursive: true });
      for (let f = 0; f < 5; f++) writeFileSync(join(dir, `a${a}`, `b${b}`, `f${f}`), `content ${a}/${b}/${f}\n`);
    }
    writeFileSync(join(dir, `a${a}`, 'top'), `top ${a}\n`.repeat(a + 1));
  }
  await settle();
  repo = await Repository.init(new MemoryStorage(), 'pw', { kdfMemoryMiB: 1 });
  workers = new BlobWorkers(repo.config, repo.keys.idKey, { threads: 1 });
});
afterAll(async () => {
  await workers.close();
  rmSync(dir, { recursive: true, force: true });
});

const backup = (parent?: { id: string; snapshot: Snapshot }) => backupLocally(repo, workers, { paths: [dir], host: 'h', source: 's', parent });

async function walkEvents(parent: Snapshot | undefined): Promise<ScanEvent[]> {
  const out: ScanEvent[] = [];
  for await (const i of walkSource({ repo, selection: buildSelection([dir]), parentTree: parent?.tree })) out.push(i.event);
  return out;
}

const kinds = (events: readonly ScanEvent[]) => events.map((e) => e.t).join('');
const summaryOf = (s: Snapshot) => ({ files: s.summary.files, dirs: s.summary.dirs, bytes: s.summary.bytes });
/** Subdirectories that went out whole: a "u" event each, or kept as the parent's nodes inside a "k" run. */
async function collapsedNames(events: readonly ScanEvent[]): Promise<string[]> {
  const names: string[] = [];
  for (const e of events) {
    if (e.t === 'u') names.push(e.node.name);
    if (e.t !== 'k') continue;
    const kept = decodeTree(await repo.readBlob(e.tree, BlobType.Tree)).slice(e.first, e.first + e.count);
    names.push(...kept.filter((n) => n.type === NodeType.Dir).map((n) => n.name));
  }
  return names;
}

/** A backup with `base` as parent writes the tree and summary that a backup reading everything again writes. */
async function expectSameAsReread(base: { id: string; snapshot: Snapshot }): Promise<void> {
  const incremental = await backup(base);
  const reread = await backup();
  expect(Buffer.from(incremental.snapshot.tree)).toEqual(Buffer.from(reread.snapshot.tree));
  expect(summaryOf(incremental.snapshot)).toEqual(summaryOf(reread.snapshot));
}

describe('unchanged subtrees', () => {
  it('collapse a second backup with no change, and write the same snapshot tree', async () => {
    const first = await backup();
    // The first backup's listings may have moved directory atimes; a fresh full read records them as they are now.
    const full = await backup();
    const events = await walkEvents(full.snapshot);
    expect(events.filter((e) => e.t === 'f')).toEqual([]);
    expect((await collapsedNames(events)).length).toBeGreaterThan(0);
    // Only the path down to the backed-up directory is listed: every event is a directory's enter or exit, or a kept run.
    expect(kinds(events)).toMatch(/^(d|k)+e+$/);
    const again = await backup(full);
    expect(Buffer.from(again.snapshot.tree)).toEqual(Buffer.from(full.snapshot.tree));
    expect(summaryOf(again.snapshot)).toEqual(summaryOf(full.snapshot));
    expect(summaryOf(full.snapshot)).toEqual(summaryOf(first.snapshot));
    expect(full.snapshot.summary.files).toBe(4 * 3 * 5 + 4);
  });

  it('expand only the directories above a change', async () => {
    const base = await backup();
    appendFileSync(join(dir, 'a2', 'b1', 'f3'), 'more\n');
    await settle();
    const events = await walkEvents(base.snapshot);
    const changed = events.filter((e) => e.t === 'f' && e.path !== undefined);
    expect(changed.map((e) => (e as { node: { name: string } }).node.name)).toEqual(['f3']);
    // a0, a1 and a3 whole, and a2's other subdirectories, are single events.
    const collapsed = await collapsedNames(events);
    expect(collapsed).toEqual(['a0', 'a1', 'b0', 'b2', 'a3']);
    await expectSameAsReread(base);
  });

  it('see a changed mode, a new file and a deleted file', async () => {
    const base = await backup();
    writeFileSync(join(dir, 'a0', 'b0', 'new'), 'new\n');
    rmSync(join(dir, 'a1', 'b2', 'f0'));
    chmodSync(join(dir, 'a3', 'b1', 'f1'), 0o600);
    chmodSync(join(dir, 'a2', 'b0'), 0o700); // its content is the same, but a2's listing changed
    await settle();
    const collapsed = await collapsedNames(await walkEvents(base.snapshot));
    expect(collapsed).toEqual(['b1', 'b2', 'b0', 'b1', 'b0', 'b1', 'b2', 'b0', 'b2']);
    await expectSameAsReread(base);
  });

  it('rebuild the held-back entries when a late entry changes', async () => {
    const base = await backup();
    appendFileSync(join(dir, 'a0', 'b2', 'f4'), 'late change\n');
    await settle();
    const events = await walkEvents(base.snapshot);
    const start = events.findIndex((e) => e.t === 'd' && e.node.name === 'b2');
    const b2 = events.slice(start, start + 4);
    // f0..f3 were held back; they go out as one run of the parent's first four nodes, then f4 to be read.
    expect(kinds(b2)).toBe('dkfe');
    expect(b2[1]).toMatchObject({ t: 'k', first: 0, count: 4, counts: { files: 4, dirs: 0, others: 0 } });
    expect(b2[2]).toMatchObject({ t: 'f', node: { name: 'f4' }, path: join(dir, 'a0', 'b2', 'f4') });
    await expectSameAsReread(base);
  });

  it("send a changed directory's unchanged entries as runs of the parent's nodes", async () => {
    const base = await backup();
    // In a3/b1 (f0..f4): f1 is removed and f3 changes, so the parent's f0, f2 and f4 stay as three runs.
    rmSync(join(dir, 'a3', 'b1', 'f1'));
    appendFileSync(join(dir, 'a3', 'b1', 'f3'), 'changed\n');
    await settle();
    const events = await walkEvents(base.snapshot);
    const start = events.findIndex((e) => e.t === 'd' && e.node.name === 'b1' && events.slice(0, events.indexOf(e)).some((x) => x.t === 'd' && x.node.name === 'a3'));
    const b1 = events.slice(start, start + 6);
    expect(kinds(b1)).toBe('dkkfke');
    expect(b1.filter((e) => e.t === 'k').map((e) => [(e as { first: number }).first, (e as { count: number }).count])).toEqual([[0, 1], [2, 1], [4, 1]]);
    expect(events.filter((e) => e.t === 'f').map((e) => (e as { node: { name: string } }).node.name)).toEqual(['f3']);
    await expectSameAsReread(base);
  });

  it('resume after any batch with the same stream', async () => {
    const base = await backup();
    appendFileSync(join(dir, 'a1', 'b0', 'f0'), 'x\n');
    await settle();
    const limits = { maxFiles: 2, maxEncodedBytes: 250, maxUploadBytes: 1 << 30 }; // unchanged entries count only by size
    const walk = (after?: readonly string[]) => walkSourceInArrays({ repo, selection: buildSelection([dir]), parentTree: base.snapshot.tree, after });
    const batches = [];
    for await (const b of batchEvents(walk(), { firstSeq: 0, startPos: [], limits })) batches.push(b);
    expect(batches.length).toBeGreaterThan(3);
    const all = batches.flatMap((b) => kinds(decodeEvents(b.events, 'b')));
    for (let k = 0; k < batches.length - 1; k++) {
      let rest = '';
      for await (const b of batchEvents(walk(batches[k]!.endPos), { firstSeq: k + 1, startPos: batches[k]!.endPos, limits })) rest += kinds(decodeEvents(b.events, 'b'));
      expect(batches.slice(0, k + 1).map((b) => kinds(decodeEvents(b.events, 'b'))).join('') + rest).toEqual(all.join(''));
    }
    const total = batches.reduce((n, b) => n + b.files, 0);
    expect(total).toBe(4 * 3 * 5 + 4 + 1 - 2); // one file more (a0/b0/new), two fewer (a1/b2/f0, a3/b1/f1)
  });

  it('read everything again, and say why, when the parent tree is missing or not a tree', async () => {
    const notATree = new TextEncoder().encode('not msgpack at all');
    const id = blobId(repo.keys.idKey, notATree);
    const writer = new RepoWriter(repo, workers);
    await writer.addBlob(BlobType.Tree, id, notATree);
    await writer.flush();
    for (const parentTree of [id, new Uint8Array(32).fill(0xab)]) {
      const problems: unknown[] = [];
      const events: ScanEvent[] = [];
      for await (const i of walkSource({ repo, selection: buildSelection([dir]), parentTree, onParentError: (e) => problems.push(e) })) events.push(i.event);
      expect(problems).toHaveLength(1);
      expect(events.filter((e) => e.t === 'u')).toEqual([]);
      const files = events.filter((e) => e.t === 'f');
      expect(files.length).toBeGreaterThan(4 * 3 * 5);
      expect(files.every((e) => e.path !== undefined)).toBe(true);
    }
  });

  it('encode their counts and refuse a malformed one', () => {
    const events = decodeEvents(encodeEvents([{ t: 'u', node: { name: 'x', type: 'd', mode: 0o755, uid: 0, gid: 0, size: 0, atimeNs: 1n, mtimeNs: 2n, ctimeNs: 3n, inode: 4n, device: 5n, nlink: 2, subtree: new Uint8Array(32) }, counts: { files: 7, dirs: 2, others: 1, bytes: 99 } }]), 't');
    expect(events[0]).toMatchObject({ t: 'u', counts: { files: 7, dirs: 2, others: 1, bytes: 99 } });
    const noSubtree = encodeEvents([{ t: 'o', node: { name: 'x', type: 'd', mode: 0, uid: 0, gid: 0, size: 0, atimeNs: 0n, mtimeNs: 0n, ctimeNs: 0n, inode: 0n, device: 0n, nlink: 1 } }]);
    noSubtree[3] = 0x75; // "o" -> "u", with no counts and no subtree
    expect(() => decodeEvents(noSubtree, 't')).toThrow(expect.objectContaining({ code: 'jobs.bad-events' }));
  });
});
