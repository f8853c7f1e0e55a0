import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BlobWorkers } from './blob-workers.ts';
import { chunkLengths, gearTable, type ChunkerParams } from './chunker.ts';
import { blobId } from '../crypto/tenant-keys.ts';
import { QuickXorHash, hash64, quickXor } from '../hash/quickxor.ts';
import type { RepoConfig } from './config.ts';
import { KnownBlobs } from './known-blobs.ts';

const params: ChunkerParams = { minSize: 16 * 1024, avgSize: 64 * 1024, maxSize: 256 * 1024 };
const seed = randomBytes(32);
const idKey = randomBytes(32);
let dir: string;
let workers: BlobWorkers;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-blob-workers-'));
  const config = { chunker: { ...params, seed } } as unknown as RepoConfig; // only the chunker part is read
  workers = new BlobWorkers(config, idKey, { threads: 1 });
});
afterAll(async () => {
  await workers.close();
  rmSync(dir, { recursive: true, force: true });
});

async function scanAll(path: string, budget: number): Promise<{ lengths: number[]; bytes: Buffer; idsOk: boolean; hash: Uint8Array }> {
  const parts: Uint8Array[] = [];
  const qx = new QuickXorHash();
  let idsOk = true;
  let pos = 0;
  for (let start = 0; ; ) {
    const seg = await workers.scanSegment(path, start, budget);
    qx.merge(seg.hashFold, seg.next);
    for (const c of seg.chunks) {
      if (c.data === undefined) throw new Error('a scan without a known-blobs filter returned a chunk without its bytes');
      idsOk &&= c.offset === pos && c.length === c.data.length && Buffer.from(blobId(idKey, c.data)).equals(c.id);
      pos += c.data.length;
      parts.push(c.data);
    }
    if (seg.eof) break;
    start = seg.next;
  }
  return { lengths: parts.map((p) => p.length), bytes: Buffer.concat(parts), idsOk, hash: qx.digest() };
}

describe('BlobWorkers', () => {
  it('scans files segment by segment, concurrently on one thread, with whole-file cuts', async () => {
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

  it('reads small files whole, with IDs and hashes, and reports an unreadable one alone', async () => {
    const a = randomBytes(5000);
    writeFileSync(join(dir, 'a'), a);
    writeFileSync(join(dir, 'empty'), new Uint8Array(0));
    const [ra, missing, empty] = await workers.readFiles([join(dir, 'a'), join(dir, 'missing'), join(dir, 'empty')]);
    expect(ra).toMatchObject({ ok: true, hash: hash64(quickXor(a)) });
    if (!ra?.ok) throw new Error('unreachable');
    expect(ra.size).toBe(a.length);
    expect(Buffer.from(ra.data!).equals(a)).toBe(true);
    expect(Buffer.from(ra.id).equals(Buffer.from(blobId(idKey, a)))).toBe(true);
    expect(missing).toMatchObject({ ok: false, code: 'ENOENT' });
    expect(empty).toMatchObject({ ok: true, hash: hash64(quickXor(new Uint8Array(0))) });
  });

  it('leaves out the bytes of chunks and files the known-blobs filter may have, and reads a range again', async () => {
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
    const seg = await workers.scanSegment(path, 0, data.length + 1, known.handle);
    expect(seg.eof).toBe(true);
    expect(seg.chunks.map((c) => c.length)).toEqual(lengths);
    for (const c of seg.chunks) {
      expect(c.data === undefined).toBe(knownOffsets.has(c.offset));
      const again = await workers.readRange(path, c.offset, c.length);
      expect(Buffer.from(again.data).equals(data.subarray(c.offset, c.offset + c.length))).toBe(true);
      expect(Buffer.from(again.id).equals(Buffer.from(c.id))).toBe(true);
      if (c.data !== undefined) expect(Buffer.from(c.data).equals(Buffer.from(again.data))).toBe(true);
    }
    const [k, n] = await workers.readFiles([join(dir, 'small-known'), join(dir, 'small-new')], known.handle);
    expect(k).toMatchObject({ ok: true, size: 3000, hash: hash64(quickXor(small)) });
    expect(k?.ok && k.data).toBeUndefined();
    expect(n?.ok && n.data?.length).toBe(3000);
  });
});
