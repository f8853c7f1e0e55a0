/**
 * Files sent ahead: the walk hands large files to read to `sendAhead` when
 * it lists their directory, before it descends into the subdirectories
 * that sort before them; their events carry `ahead`; and a backup that
 * reads them on their own and joins them by key writes the snapshot that
 * reading them in their batches writes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStorage } from '../storage/memory.ts';
import { Repository } from '../repo/repository.ts';
import { BlobWorkers } from '../repo/blob-workers.ts';
import { BlobType } from '../repo/blob.ts';
import { decodeTree, NodeType, type TreeNode } from '../repo/tree.ts';
import { buildSelection } from '../repo/selection.ts';
import { toHex } from '../repo/ids.ts';
import type { Snapshot } from '../repo/snapshot.ts';
import { backupLocally } from './local-pipeline.ts';
import { walkSource } from './scan-walker.ts';
import { encodeEvents, type ScanEvent } from './scan-events.ts';
import { decodeAssemblyEvents } from './tree-assembler.ts';
import { aheadFile, aheadItem, aheadKey, joinAhead } from './files-ahead.ts';

const MIN = 64 * 1024;
let dir: string;
let repo: Repository;
let workers: BlobWorkers;

const big = (seed: number, bytes = 3 * MIN) => Buffer.from(Array.from({ length: bytes }, (_, i) => (i * 7919 + seed * 131 + (i >> 9)) & 0xff));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-ahead-'));
  // Root: subdirectories "a" and "m" sort after "0-big.bin" and before "x-big.bin"; "zz.txt" is small.
  for (const d of ['a', 'm']) {
    mkdirSync(join(dir, d));
    for (let f = 0; f < 3; f++) writeFileSync(join(dir, d, `f${f}.txt`), `${d}/${f}\n`);
  }
  writeFileSync(join(dir, 'm', 'inner-big.bin'), big(1));
  writeFileSync(join(dir, '0-big.bin'), big(2));
  writeFileSync(join(dir, 'x-big.bin'), big(3, 5 * MIN));
  writeFileSync(join(dir, 'zz.txt'), 'small\n');
  repo = await Repository.init(new MemoryStorage(), 'pw', { kdfMemoryMiB: 1, chunker: { minSize: 16 * 1024, avgSize: 32 * 1024, maxSize: 64 * 1024 } });
  workers = new BlobWorkers(repo.config, repo.keys.idKey, { threads: 1 });
});
afterAll(async () => {
  await workers.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The walk's events, and for each file sent ahead how many events had been yielded when it was sent. */
async function walkSending(parent?: Snapshot, after?: readonly string[]): Promise<{ events: ScanEvent[]; sent: Map<string, number> }> {
  const events: ScanEvent[] = [];
  const sent = new Map<string, number>();
  const sendAhead = { minBytes: MIN, send: (path: string) => void sent.set(path, events.length) };
  for await (const i of walkSource({ repo, selection: buildSelection([dir]), parentTree: parent?.tree, after, sendAhead })) events.push(i.event);
  return { events, sent };
}

/** Every file of a snapshot tree by absolute path: its size, content and hash (times left out: reading a file moves its atime). */
async function files(tree: Uint8Array, prefix = '/'): Promise<Map<string, [number, string, string]>> {
  const out = new Map<string, [number, string, string]>();
  for (const n of decodeTree(await repo.readBlob(tree, BlobType.Tree), 'tree')) {
    if (n.type === NodeType.Dir) for (const [k, v] of await files(n.subtree!, `${prefix}${n.name}/`)) out.set(k, v);
    else if (n.type === NodeType.File) out.set(prefix + n.name, [n.size, (n.content ?? []).map(toHex).join(','), String(n.hash)]);
  }
  return out;
}

const backup = (opts: { aheadBytes?: number; parent?: { id: string; snapshot: Snapshot } } = {}) =>
  backupLocally(repo, workers, { paths: [dir], host: 'h', source: 's', ...opts });

describe('files sent ahead', () => {
  it('are sent when their directory is listed, before the walk descends, and marked in their events', async () => {
    const { events, sent } = await walkSending();
    expect([...sent.keys()].sort()).toEqual([join(dir, '0-big.bin'), join(dir, 'x-big.bin'), join(dir, 'm', 'inner-big.bin')].sort());
    // The root's large files went out before anything of "a" (the events so far are the enter events of the path down to the source).
    const firstOfA = events.findIndex((e) => e.t === 'd' && e.node.name === 'a');
    expect(sent.get(join(dir, 'x-big.bin'))).toBeLessThan(firstOfA);
    expect(sent.get(join(dir, '0-big.bin'))).toBeLessThan(firstOfA);
    const marked = events.filter((e): e is ScanEvent & { t: 'f' } => e.t === 'f' && e.ahead === true).map((e) => e.path);
    expect(marked.sort()).toEqual([...sent.keys()].sort());
    expect(events.filter((e) => e.t === 'f' && e.ahead !== true && e.node.size >= MIN)).toEqual([]);
  });

  it('give the snapshot that reading them in their batches gives, first and incremental', async () => {
    const plain = await backup();
    const ahead = await backup({ aheadBytes: MIN });
    expect(ahead.snapshot.summary.filesRead).toBe(plain.snapshot.summary.filesRead);
    expect(await files(ahead.snapshot.tree)).toEqual(await files(plain.snapshot.tree));
    // An edit in the middle of one large file: only that one is sent again.
    const edited = big(3, 5 * MIN);
    edited.fill(0x55, 2 * MIN, 2 * MIN + 1000);
    writeFileSync(join(dir, 'x-big.bin'), edited);
    const { sent } = await walkSending(ahead.snapshot);
    expect([...sent.keys()]).toEqual([join(dir, 'x-big.bin')]);
    const next = await backup({ aheadBytes: MIN, parent: ahead });
    const want = await files(ahead.snapshot.tree);
    const got = await files(next.snapshot.tree);
    const edit = join(dir, 'x-big.bin');
    expect(got.get(edit)![1]).not.toBe(want.get(edit)![1]);
    got.delete(edit);
    want.delete(edit);
    expect(got).toEqual(want);
    // And the same content as reading everything in batches gives.
    const check = await backup();
    expect((await files(check.snapshot.tree)).get(edit)).toEqual((await files(next.snapshot.tree)).get(edit));
  });

  it('are not sent again by a scan resumed after them', async () => {
    const { events } = await walkSending();
        // Resumed at the position of the root's "m" exit: x-big.bin comes later, 0-big.bin and m's file came before.
    const { sent } = await walkSending(undefined, [...dir.split('/').filter(Boolean), 'm', '/']);
    expect([...sent.keys()]).toEqual([join(dir, 'x-big.bin')]);
  });
});

describe('a file item', () => {
  const node: TreeNode = {
    name: 'disk.img', type: NodeType.File, mode: 0o644, uid: 0, gid: 0, size: 1 << 30, atimeNs: 1n, mtimeNs: 2n, ctimeNs: 3n, inode: 4n, device: 5n, nlink: 1,
  };

  it('is keyed by its path and node, the same from the item and from the batch that names it', () => {
    const item = aheadItem('/srv/disk.img', node);
    const inBatch = decodeAssemblyEvents(encodeEvents([{ t: 'f', node, path: '/srv/disk.img', ahead: true }]), 'b')[0]!;
    expect(inBatch.t === 'f' && aheadKey(inBatch.path!, inBatch.node.bytes)).toBe(item.key);
    expect(aheadFile(item.events, 'i').key).toBe(item.key);
    expect(aheadItem('/srv/disk2.img', node).key).not.toBe(item.key);
    expect(aheadItem('/srv/disk.img', { ...node, mtimeNs: 9n }).key).not.toBe(item.key);
  });

  it('must hold exactly one file to read, not itself marked ahead', () => {
    const bad = expect.objectContaining({ code: 'jobs.bad-events' });
    const f = { t: 'f', node, path: '/srv/disk.img' } as const;
    for (const events of [[], [f, f], [{ t: 'e' }], [{ t: 'f', node }], [{ ...f, ahead: true }]] as ScanEvent[][]) {
      expect(() => aheadFile(encodeEvents(events), 'i'), JSON.stringify(events.map((e) => e.t))).toThrow(bad);
    }
  });

  it('joins as the file read, or as the error reading it, and nothing else', () => {
    const sent = decodeAssemblyEvents(encodeEvents([{ t: 'f', node, path: '/srv/disk.img', ahead: true }]), 'b')[0]! as Parameters<typeof joinAhead>[0];
    const read = { ...node, content: [new Uint8Array(32).fill(1)], hash: 7n };
    expect(joinAhead(sent, encodeEvents([{ t: 'f', node: read }]), 'k')).toMatchObject({ t: 'f', node: { name: 'disk.img', hasContent: true } });
    const err = { t: 'x', path: '/srv/disk.img', code: 'EIO', message: 'i/o error' } as const;
    expect(joinAhead(sent, encodeEvents([err]), 'k')).toEqual(err);
    const bad = expect.objectContaining({ code: 'jobs.bad-fragment' });
    for (const events of [
      [{ t: 'f', node }], // not read
      [{ t: 'f', node: { ...read, name: 'other.img' } }],
      [{ ...err, path: '/srv/other.img' }],
      [{ t: 'f', node: read }, err],
      [],
    ] as ScanEvent[][]) expect(() => joinAhead(sent, encodeEvents(events), 'k'), JSON.stringify(events.map((e) => e.t))).toThrow(bad);
  });
});
