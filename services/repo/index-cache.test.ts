/** The local index cache: its byte format, and a repository that starts from it without trusting it blindly. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStorage } from '../storage/memory.ts';
import type { Storage } from '../storage/storage.ts';
import { Repository } from './repository.ts';
import { MasterIndex } from './master-index.ts';
import { decodeIndexCache, encodeIndexCache, FileIndexCache } from './index-cache.ts';
import type { PackEntry } from './index-file.ts';
import { PackKind, Prefix } from './layout.ts';
import { BlobType } from './blob.ts';
import { checkRepository } from './check.ts';

const id = () => new Uint8Array(randomBytes(32));
const pack = (blobs: number, kind: PackKind = PackKind.Data): PackEntry => ({
  id: id(), kind, epk: id(),
  blobs: Array.from({ length: blobs }, (_, i) => ({ id: id(), type: kind === PackKind.Data ? BlobType.Data : BlobType.Tree, offset: 40 + i * 100, length: 100, rawLength: 150 + i })),
});

/** A view of shared storage that counts loads of index files; closing it leaves the shared storage open. */
function counting(inner: Storage): Storage & { indexLoads: number } {
  const view = {
    location: inner.location,
    indexLoads: 0,
    save: (name: string, data: Uint8Array) => inner.save(name, data),
    load: (name: string, range?: { offset: number; length: number }) => {
      if (name.startsWith(Prefix.index)) view.indexLoads++;
      return inner.load(name, range);
    },
    stat: (name: string) => inner.stat(name),
    list: (prefix: string) => inner.list(prefix),
    remove: (name: string) => inner.remove(name),
    writer: () => inner.writer(),
    close: async () => {},
  };
  return view;
}

describe('index cache format', () => {
  const index = new MasterIndex();
  for (const p of [pack(3000), pack(5, PackKind.Tree), pack(1)]) index.addPack(p);
  index.indexIds.add('ab'.repeat(32));

  it('round-trips an index: every lookup answers the same', () => {
    const back = decodeIndexCache(encodeIndexCache(index.columns()));
    expect(back).toBeDefined();
    const filled = new MasterIndex();
    filled.fillFrom(back!);
    expect([filled.blobCount, filled.packCount, [...filled.indexIds]]).toEqual([index.blobCount, index.packCount, [...index.indexIds]]);
    for (const [, loc] of index.allBlobs()) expect(loc).toBeDefined();
    const want = [...index.allBlobs()].map(([k, l]) => [k, l.pack.name, l.type, l.offset, l.length, l.rawLength]);
    expect([...filled.allBlobs()].map(([k, l]) => [k, l.pack.name, l.type, l.offset, l.length, l.rawLength])).toEqual(want);
    for (const p of index.allPacks()) expect(filled.has(p.id)).toBe(false);
  });

  it('rejects a damaged, truncated or foreign file', () => {
    const bytes = encodeIndexCache(index.columns());
    for (const at of [0, 5, 20, 60, bytes.length - 1]) {
      const bad = Uint8Array.from(bytes);
      bad[at]! ^= 1;
      expect(decodeIndexCache(bad), `flipped byte ${at}`).toBeUndefined();
    }
    expect(decodeIndexCache(bytes.subarray(0, bytes.length - 4))).toBeUndefined();
    expect(decodeIndexCache(new Uint8Array(10))).toBeUndefined();
  });

  it('refuses columns that do not fit together, and leaves the index empty', () => {
    const c = index.columns();
    const filled = new MasterIndex();
    expect(() => filled.fillFrom({ ...c, packOf: c.packOf.map(() => 99) })).toThrow(expect.objectContaining({ code: 'repo.corrupt' }));
    expect(filled.blobCount).toBe(0);
  });
});

describe('a repository with an index cache', () => {
  let dir: string;
  let storage: MemoryStorage;
  let packs: PackEntry[];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-index-cache-'));
    storage = new MemoryStorage();
    const repo = await Repository.init(storage, 'pw', { kdfMemoryMiB: 1 });
    packs = [pack(200), pack(300), pack(10, PackKind.Tree)];
    for (const p of packs) await repo.saveIndex([p]);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const open = async (s: Storage, file: string) => {
    // Through a view, so that closing this repository leaves the shared storage open.
    const repo = await Repository.open('indexLoads' in s ? s : counting(s), 'pw');
    repo.useIndexCache(new FileIndexCache(join(dir, file)));
    return repo;
  };

  it('builds the cache on close, then starts from it without reading the index files it covers', async () => {
    const first = counting(storage);
    const a = await open(first, 'c1.bin');
    await a.loadIndex();
    expect(first.indexLoads).toBe(3);
    await a.close();
    const second = counting(storage);
    const b = await open(second, 'c1.bin');
    const index = await b.loadIndex();
    expect(second.indexLoads).toBe(0);
    expect(index.blobCount).toBe(510);
    for (const p of packs) for (const blob of p.blobs) expect(b.locate(blob.id).pack.id).toEqual(p.id);
    // An index file written since is loaded on top of the cache.
    const extra = pack(7);
    const other = await Repository.open(storage, 'pw');
    await other.saveIndex([extra]);
    const third = counting(storage);
    const c = await open(third, 'c1.bin');
    expect((await c.loadIndex()).blobCount).toBe(517);
    expect(third.indexLoads).toBe(1);
    await c.close();
    await rm(join(dir, 'c1.bin')).catch(() => {});
    packs.push(extra);
  });

  it('is ignored when an index file it covers is gone (as after prune), so removed blobs do not come back', async () => {
    const a = await open(storage, 'c2.bin');
    await a.loadIndex();
    await a.close();
    const names: string[] = [];
    for await (const o of storage.list(Prefix.index)) names.push(o.name);
    const dropped = names[0]!;
    const kept = new MemoryStorage();
    for await (const o of storage.list('')) if (o.name !== dropped) await kept.save(o.name, await storage.load(o.name));
    const b = await open(kept, 'c2.bin');
    const index = await b.loadIndex();
    const droppedEntries = (await Repository.open(storage, 'pw').then((r) => r.loadIndex())).blobCount - index.blobCount;
    expect(droppedEntries).toBeGreaterThan(0);
    for (const p of packs) {
      const present = p.blobs.map((x) => index.has(x.id));
      expect(new Set(present).size, 'a pack is either all in or all out').toBe(1);
    }
  });

  it('is ignored when damaged, and check still reads every index file', async () => {
    const a = await open(storage, 'c3.bin');
    await a.loadIndex();
    await a.close();
    const file = join(dir, 'c3.bin');
    const bytes = await readFile(file);
    bytes[bytes.length - 1]! ^= 0xff;
    await writeFile(file, bytes);
    const b = await open(storage, 'c3.bin');
    expect((await b.loadIndex()).blobCount).toBe(517);
    await b.close(); // rewrites a good cache
    const c = counting(storage);
    const repo = await open(c, 'c3.bin');
    await repo.loadIndex();
    expect(c.indexLoads).toBe(0);
    const report = await checkRepository(repo, { readData: false });
    expect(c.indexLoads).toBe(4);
    expect(report.problems.filter((p) => p.kind === 'unreadable-index')).toEqual([]);
  });

  it('lets check read each index file once when there is no cache, and still report a bad one', async () => {
    const c = counting(storage);
    const report = await checkRepository(await Repository.open(c, 'pw'), { readData: false });
    expect(c.indexLoads).toBe(4); // the repository's three index files and the one written above
    expect(report.problems.filter((p) => p.kind === 'unreadable-index')).toEqual([]);

    const damaged = new MemoryStorage();
    for await (const o of storage.list('')) await damaged.save(o.name, await storage.load(o.name));
    let victim = '';
    for await (const o of damaged.list(Prefix.index)) victim ||= o.name;
    const bytes = await damaged.load(victim);
    bytes[bytes.length - 1]! ^= 0xff;
    await damaged.save(victim, bytes);
    const d = counting(damaged);
    const bad = await checkRepository(await Repository.open(d, 'pw'), { readData: false });
    expect(bad.problems.filter((p) => p.kind === 'unreadable-index').map((p) => p.message)).toEqual([expect.stringContaining(victim)]);
    expect(d.indexLoads).toBe(5); // the bad file is tried by the load and again by the verification
  });
});
