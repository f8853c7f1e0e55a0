import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BlobWorkers } from './blob-workers.ts';
import { NativeContent } from './native-content.ts';
import { loadContentAddon } from './content-addon.ts';
import type { ContentEngine } from './content-engine.ts';
import { chunkLengths, gearTable, type ChunkerParams } from './chunker.ts';
import { blobId } from '../crypto/tenant-keys.ts';
import { QuickXorHash, hash64, quickXor } from '../hash/quickxor.ts';
import type { RepoConfig } from './config.ts';
import { KnownBlobs } from './known-blobs.ts';
import { BlobType, openBlob } from './blob.ts';
import type { SealSpec } from './content.ts';

const params: ChunkerParams = { minSize: 16 * 1024, avgSize: 64 * 1024, maxSize: 256 * 1024 };
const seed = randomBytes(32);
const idKey = randomBytes(32);
const seal: SealSpec = { key: randomBytes(32), level: 3 };
/** The plaintext of a blob a worker sealed. */
const opened = (id: Uint8Array, sealed: Uint8Array): Buffer => Buffer.from(openBlob(seal.key, id, BlobType.Data, sealed, 'test blob'));
const config = { chunker: { ...params, seed } } as unknown as RepoConfig; // only the chunker part is read
let dir: string;
let workers: ContentEngine;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-blob-workers-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Both content engines, one thread each: the same contracts and the same
 * format. The native addon is built by npm ci; without it this fails
 * rather than skips, since a user would then silently get the slower engine.
 */
const engines: [string, () => ContentEngine][] = [
  ['worker threads', () => new BlobWorkers(config, idKey, { threads: 1 })],
  [
    'the native addon',
    () => {
      const { addon, error } = loadContentAddon();
      if (addon === undefined) throw new Error(`the native content addon did not load; run npm run build:native (${String(error)})`);
      return new NativeContent(addon, config, idKey, { threads: 1 });
    },
  ],
];

async function scanAll(path: string, budget: number): Promise<{ lengths: number[]; bytes: Buffer; idsOk: boolean; hash: Uint8Array }> {
  const parts: Uint8Array[] = [];
  const qx = new QuickXorHash();
  let idsOk = true;
  let pos = 0;
  for (let start = 0; ; ) {
    const seg = await workers.scanSegment(path, start, budget, { seal });
    qx.merge(seg.hashFold, seg.next);
    for (const c of seg.chunks) {
      if (c.sealed === undefined) throw new Error('a scan without a known-blobs filter returned a chunk without its bytes');
      const data = opened(c.id, c.sealed);
      idsOk &&= c.offset === pos && c.length === data.length && Buffer.from(blobId(idKey, data)).equals(c.id);
      pos += data.length;
      parts.push(data);
    }
    if (seg.eof) break;
    start = seg.next;
  }
  return { lengths: parts.map((p) => p.length), bytes: Buffer.concat(parts), idsOk, hash: qx.digest() };
}

describe.each(engines)('content engine on %s', (_name, make) => {
  beforeAll(() => {
    workers = make();
  });
  afterAll(async () => {
    await workers.close();
  });

  it('scans and seals files segment by segment, concurrently on one thread, with whole-file cuts', async () => {
    const files = [0, 1, 2].map((i) => {
      const data = randomBytes(1_500_000 + i * 77_777);
      const path = join(dir, `f${i}`);
      writeFileSync(path, data);
      return { path, data };
    });
    const results = await Promise.all(files.map((f) => scanAll(f.path, 100_000)));
    for (const [i, r] of results.entries()) {
      expect(r.bytes.equals(files[i]!.data)).toBe(true);
      expect(r.lengths).toEqual(chunkLengths(files[i]!.data, gearTable(seed), params));
      expect(r.idsOk).toBe(true);
      expect(Buffer.from(r.hash).equals(Buffer.from(quickXor(files[i]!.data)))).toBe(true);
    }
  });

  it('reads and seals small files whole, with IDs and hashes, and reports an unreadable one alone', async () => {
    const a = randomBytes(5000);
    writeFileSync(join(dir, 'a'), a);
    writeFileSync(join(dir, 'empty'), new Uint8Array(0));
    const [ra, missing, empty] = await workers.readFiles([join(dir, 'a'), join(dir, 'missing'), join(dir, 'empty')], { seal });
    expect(ra).toMatchObject({ ok: true, hash: hash64(quickXor(a)) });
    if (!ra?.ok) throw new Error('unreachable');
    expect(ra.size).toBe(a.length);
    expect(opened(ra.id, ra.sealed!).equals(a)).toBe(true);
    expect(Buffer.from(ra.id).equals(Buffer.from(blobId(idKey, a)))).toBe(true);
    expect(missing).toMatchObject({ ok: false, code: 'ENOENT' });
    expect(empty).toMatchObject({ ok: true, hash: hash64(quickXor(new Uint8Array(0))) });
  });

  it('leaves out chunks and files the known-blobs filter may have, and reads and seals a range again', async () => {
    const data = randomBytes(600_000);
    const small = randomBytes(3000);
    const path = join(dir, 'known');
    writeFileSync(path, data);
    writeFileSync(join(dir, 'small-known'), small);
    writeFileSync(join(dir, 'small-new'), randomBytes(3000));
    const lengths = chunkLengths(data, gearTable(seed), params);
    expect(lengths.length).toBeGreaterThan(3);
    const known = new KnownBlobs();
    let at = 0;
    const knownOffsets = new Set<number>();
    for (const [i, len] of lengths.entries()) {
      if (i % 2 === 0) {
        known.add(blobId(idKey, data.subarray(at, at + len)));
        knownOffsets.add(at);
      }
      at += len;
    }
    known.add(blobId(idKey, small));
    const seg = await workers.scanSegment(path, 0, data.length + 1, { seal, known: known.handle });
    expect(seg.eof).toBe(true);
    expect(seg.chunks.map((c) => c.length)).toEqual(lengths);
    for (const c of seg.chunks) {
      expect(c.sealed === undefined).toBe(knownOffsets.has(c.offset));
      const again = await workers.readRange(path, c.offset, c.length, seal);
      const bytes = data.subarray(c.offset, c.offset + c.length);
      expect(again.length).toBe(c.length);
      expect(opened(c.id, again.sealed).equals(bytes)).toBe(true);
      expect(Buffer.from(again.id).equals(Buffer.from(c.id))).toBe(true);
      if (c.sealed !== undefined) expect(opened(c.id, c.sealed).equals(bytes)).toBe(true);
    }
    const [k, n] = await workers.readFiles([join(dir, 'small-known'), join(dir, 'small-new')], { seal, known: known.handle });
    expect(k).toMatchObject({ ok: true, size: 3000, hash: hash64(quickXor(small)) });
    expect(k?.ok && k.sealed).toBeUndefined();
    expect(n?.ok && opened(n.id, n.sealed!).length).toBe(3000);
  });
});

describe('BlobWorkers sealing before the threads start', () => {
  const tree = (n: number) => ({ id: randomBytes(32), type: BlobType.Tree, data: new TextEncoder().encode(`tree ${n} `.repeat(200 + n)) });
  const openTree = (item: { id: Uint8Array }, sealed: Uint8Array) => new TextDecoder().decode(openBlob(seal.key, item.id, BlobType.Tree, sealed, 'tree'));

  it('seals the first small batches inline without starting the threads, then hands sealing to them', async () => {
    const pool = new BlobWorkers(config, idKey, { threads: 1 });
    try {
      const small = [tree(1), tree(2)];
      const expected = small.map((i) => new TextDecoder().decode(i.data));
      const sealed = await pool.seal(seal.key, seal.level, small);
      expect(pool.started).toBe(false);
      expect(sealed.map((s, i) => openTree(small[i]!, s))).toEqual(expected);
      // Past the inline budget (256 KiB in all), batches go to the threads, and come back the same.
      const big = Array.from({ length: 40 }, (_, n) => tree(1000 + n)); // about 400 KiB
      const bigText = big.map((i) => new TextDecoder().decode(i.data));
      const sealedBig = await pool.seal(seal.key, seal.level, big);
      expect(pool.started).toBe(true);
      expect(sealedBig.map((s, i) => openTree(big[i]!, s))).toEqual(bigText);
    } finally {
      await pool.close();
    }
  });
});
