import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { NativeContent } from './native-content.ts';
import { loadContentAddon } from './content-addon.ts';
import { ContentEngineKind, contentEngineKind, openContentEngine } from './content-engine.ts';
import { BlobWorkers } from './blob-workers.ts';
import { DEFAULT_CHUNKER_PARAMS, chunkLengths, gearTable } from './chunker.ts';
import { blobId } from '../crypto/tenant-keys.ts';
import { QuickXorHash, quickXor } from '../hash/quickxor.ts';
import { BlobType, openBlob, sealBlob } from './blob.ts';
import type { RepoConfig } from './config.ts';
import type { SealSpec } from './content.ts';
import type { PlacedBlob } from './place-blobs.ts';
import { MIB_PARAMS, SMALL, VECTOR_DEFAULT_12MIB, VECTOR_MIB_12MIB, VECTOR_SEED, VECTOR_SMALL_256KIB, VECTOR_SMALL_ZEROS_256KIB } from './chunker.fixture.ts';
import { testStreamBytes } from './test-stream.ts';
import { computeVectors } from './format-vectors.ts';
import { hash64 } from '../hash/quickxor.ts';
import type { ChunkerParams } from './chunker.ts';
import { KnownBlobs } from './known-blobs.ts';

const seed = randomBytes(32);
const idKey = randomBytes(32);
const seal: SealSpec = { key: randomBytes(32), level: 2 };
const config = { chunker: { ...DEFAULT_CHUNKER_PARAMS, seed } } as unknown as RepoConfig;
let dir: string;
let engine: NativeContent;

/** Bytes that chunk like real files: random stretches, runs of one byte, and a repeated block. */
function mixedBytes(size: number): Buffer {
  const out = Buffer.alloc(size);
  const block = randomBytes(700_000);
  for (let at = 0, k = 0; at < size; k++) {
    const len = Math.min(size - at, 300_000 + ((k * 7_919_777) % 3_000_000));
    if (k % 3 === 0) randomBytes(len).copy(out, at);
    else if (k % 3 === 1) out.fill(k & 0xff, at, at + len);
    else for (let i = 0; i < len; i += block.length) block.copy(out, at + i, 0, Math.min(block.length, len - i));
    at += len;
  }
  return out;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-native-content-'));
  const { addon, error } = loadContentAddon();
  if (addon === undefined) throw new Error(`the native content addon did not load; run npm run build:native (${String(error)})`);
  engine = new NativeContent(addon, config, idKey, { threads: 2 });
});
afterAll(async () => {
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('NativeContent with the default chunker parameters', () => {
  it('cuts, IDs and hashes a 40 MiB file exactly as the TypeScript chunker does, in any segment budget', async () => {
    const data = mixedBytes(40 * 1024 * 1024 + 12_345);
    const path = join(dir, 'big');
    writeFileSync(path, data);
    const expected = chunkLengths(data, gearTable(seed), DEFAULT_CHUNKER_PARAMS);
    expect(expected.length).toBeGreaterThan(5); // runs of one byte give maxSize chunks, so fewer than 40 in all
    for (const budget of [1, 4 * 1024 * 1024, 64 * 1024 * 1024]) {
      const lengths: number[] = [];
      const qx = new QuickXorHash();
      let idsOk = true;
      for (let start = 0; ; ) {
        const seg = await engine.scanSegment(path, start, budget, { seal });
        qx.merge(seg.hashFold, seg.next);
        for (const c of seg.chunks) {
          const bytes = data.subarray(c.offset, c.offset + c.length);
          idsOk &&= Buffer.from(c.id).equals(blobId(idKey, bytes));
          lengths.push(c.length);
        }
        if (seg.eof) break;
        start = seg.next;
      }
      expect(lengths).toEqual(expected);
      expect(idsOk).toBe(true);
      expect(Buffer.from(qx.digest()).equals(Buffer.from(quickXor(data)))).toBe(true);
    }
  });

  it.each([
    ['the addon', () => engine],
    ['worker threads', () => new BlobWorkers(config, idKey, { threads: 1 })],
  ] as const)('through %s, ends a segment once it sealed sealBudget bytes, and scans on through known chunks', async (_name, make) => {
    const scanner = make();
    const path = join(dir, 'seal-budget');
    writeFileSync(path, randomBytes(12 * 1024 * 1024));
    const sealBudget = 2 * 1024 * 1024;
    const first = await scanner.scanSegment(path, 0, 64 * 1024 * 1024, { seal, sealBudget });
    const sealed = first.chunks.reduce((n, c) => n + (c.sealed === undefined ? 0 : c.length), 0);
    expect(first.eof).toBe(false);
    expect(sealed).toBeGreaterThanOrEqual(sealBudget);
    expect(sealed - first.chunks.at(-1)!.length).toBeLessThan(sealBudget);
    // The same file with every chunk known: nothing is sealed, so the budget of bytes scanned decides.
    const known = new KnownBlobs();
    for (let start = 0; ; ) {
      const seg = await scanner.scanSegment(path, start, 64 * 1024 * 1024, { seal });
      for (const c of seg.chunks) known.add(c.id);
      if (seg.eof) break;
      start = seg.next;
    }
    const whole = await scanner.scanSegment(path, 0, 64 * 1024 * 1024, { seal, sealBudget, known: known.handle });
    expect(whole.eof).toBe(true);
    expect(whole.chunks.every((c) => c.sealed === undefined)).toBe(true);
    if (scanner !== engine) await scanner.close();
  });

  it('seals blobs that the TypeScript code opens, compressed where that pays, and opens what it sealed', async () => {
    const items = [
      { id: randomBytes(32), type: BlobType.Tree, data: new TextEncoder().encode('a tree '.repeat(5000)) },
      { id: randomBytes(32), type: BlobType.Data, data: randomBytes(100_000) },
      { id: randomBytes(32), type: BlobType.Data, data: new Uint8Array(10) },
    ];
    const copies = items.map((i) => Buffer.from(i.data));
    const sealed = await engine.seal(seal.key, seal.level, items);
    sealed.forEach((s, k) => expect(Buffer.from(openBlob(seal.key, items[k]!.id, items[k]!.type, s, 'blob')).equals(copies[k]!)).toBe(true));
    expect(sealed[0]!.length).toBeLessThan(copies[0]!.length / 10);
    expect(sealed[1]!.length).toBe(copies[1]!.length + 29); // incompressible: stored as is
  });
});

describe('NativeContent and the published format vectors (docs/design.md)', () => {
  const bytes = (start: number, n: number) => Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);
  const vectorIdKey = bytes(0x40, 32);
  const withParams = async <T>(params: ChunkerParams, f: (e: NativeContent) => Promise<T>): Promise<T> => {
    const e = new NativeContent(loadContentAddon().addon!, { chunker: { ...params, seed: VECTOR_SEED } } as unknown as RepoConfig, vectorIdKey);
    try {
      return await f(e);
    } finally {
      await e.close();
    }
  };
  const lengths = async (e: NativeContent, path: string): Promise<number[]> => {
    const seg = await e.scanSegment(path, 0, Number.MAX_SAFE_INTEGER, { seal });
    expect(seg.eof).toBe(true);
    return seg.chunks.map((c) => c.length);
  };

  it('cuts the chunker vectors', async () => {
    const stream = join(dir, 'vector-stream');
    writeFileSync(stream, testStreamBytes(12 * 1024 * 1024));
    const small = join(dir, 'vector-small');
    writeFileSync(small, testStreamBytes(256 * 1024));
    const zeros = join(dir, 'vector-zeros');
    writeFileSync(zeros, new Uint8Array(256 * 1024));
    expect(await withParams(DEFAULT_CHUNKER_PARAMS, (e) => lengths(e, stream))).toEqual(VECTOR_DEFAULT_12MIB);
    expect(await withParams(MIB_PARAMS, (e) => lengths(e, stream))).toEqual(VECTOR_MIB_12MIB);
    expect(await withParams(SMALL, (e) => lengths(e, small))).toEqual(VECTOR_SMALL_256KIB);
    expect(await withParams(SMALL, (e) => lengths(e, zeros))).toEqual(VECTOR_SMALL_ZEROS_256KIB);
  });

  it('gives the blob ID and QuickXorHash vectors', async () => {
    const vectors = computeVectors();
    const abc = join(dir, 'vector-abc');
    writeFileSync(abc, 'abc');
    const s1000 = join(dir, 'vector-1000');
    writeFileSync(s1000, testStreamBytes(1000));
    const [a, b] = await withParams(DEFAULT_CHUNKER_PARAMS, (e) => e.readFiles([abc, s1000], { seal }));
    expect(a?.ok && Buffer.from(a.id).toString('hex')).toBe(vectors['blob-id.abc']);
    expect(a?.ok && a.hash).toBe(hash64(Buffer.from(vectors['quickxor.abc']!, 'hex')));
    expect(b?.ok && b.hash).toBe(hash64(Buffer.from(vectors['quickxor.stream1000']!, 'hex')));
  });
});

describe('NativeContent placing restored blobs', () => {
  const blobs = (n: number) =>
    Array.from({ length: n }, (_, k) => {
      const data = k % 2 === 0 ? randomBytes(5000 + k) : Buffer.from(`text ${k} `.repeat(900));
      const id = new Uint8Array(createHash('sha256').update(data).digest());
      return { id, data, sealed: sealBlob(seal.key, id, BlobType.Data, data, 3) };
    });

  it('opens a pack range and writes each blob to every place it goes', async () => {
    const bs = blobs(4);
    const range = Buffer.concat([Buffer.from('junk'), ...bs.map((b) => b.sealed)]);
    const outA = join(dir, 'placed-a');
    const outB = join(dir, 'placed-b');
    writeFileSync(outA, '');
    writeFileSync(outB, '');
    const fa = openSync(outA, 'r+');
    const fb = openSync(outB, 'r+');
    try {
      let at = 4;
      let pos = 0;
      const placed: PlacedBlob[] = bs.map((b) => {
        const p: PlacedBlob = { id: b.id, type: BlobType.Data, at, length: b.sealed.length, rawLength: b.data.length, dests: [[fa, pos], [fb, pos]] };
        at += b.sealed.length;
        pos += b.data.length;
        return p;
      });
      expect(await engine.place({ op: 'place', key: seal.key, sealed: range, blobs: placed })).toEqual([null, null, null, null]);
    } finally {
      closeSync(fa);
      closeSync(fb);
    }
    const whole = Buffer.concat(bs.map((b) => b.data));
    expect(readFileSync(outA).equals(whole)).toBe(true);
    expect(readFileSync(outB).equals(whole)).toBe(true);
  });

  it('reports a tampered blob, a wrong length and a failed write per blob, and places the rest', async () => {
    const [good, tampered, short, unwritable] = blobs(4);
    tampered!.sealed[20]! ^= 1;
    const range = Buffer.concat([good!.sealed, tampered!.sealed, short!.sealed, unwritable!.sealed]);
    const out = join(dir, 'placed-partly');
    writeFileSync(out, '');
    const fd = openSync(out, 'r+');
    const lengths = [good!, tampered!, short!, unwritable!].map((b) => b.sealed.length);
    const at = (k: number) => lengths.slice(0, k).reduce((a, b) => a + b, 0);
    try {
      const result = await engine.place({
        op: 'place',
        key: seal.key,
        sealed: range,
        blobs: [
          { id: good!.id, type: BlobType.Data, at: at(0), length: lengths[0]!, rawLength: good!.data.length, dests: [[fd, 0]] },
          { id: tampered!.id, type: BlobType.Data, at: at(1), length: lengths[1]!, rawLength: tampered!.data.length, dests: [[fd, 0]] },
          { id: short!.id, type: BlobType.Data, at: at(2), length: lengths[2]!, rawLength: short!.data.length + 1, dests: [[fd, 0]] },
          { id: unwritable!.id, type: BlobType.Data, at: at(3), length: lengths[3]!, rawLength: unwritable!.data.length, dests: [[1_000_000, 0]] },
        ],
      });
      expect(result[0]).toBeNull();
      expect(result[1]).toMatchObject({ code: 'crypto.auth', message: expect.stringContaining('failed authentication') });
      expect(result[2]).toMatchObject({ code: 'repo.corrupt', message: expect.stringContaining('where the index says') });
      expect(result[3]).toMatchObject({ code: 'EBADF', message: 'EBADF: bad file descriptor, write' });
    } finally {
      closeSync(fd);
    }
    expect(readFileSync(out).equals(good!.data)).toBe(true);
  });
});

describe('NativeContent errors', () => {
  it('reports a file it cannot read as chunkFile() does: chunker.io with the OS error', async () => {
    const missing = join(dir, 'missing');
    await expect(engine.scanSegment(missing, 0, 1, { seal })).rejects.toMatchObject({
      code: 'chunker.io',
      message: `open ${missing}: ENOENT: no such file or directory, open '${missing}'`,
      details: { path: missing, op: 'open', errno: 'ENOENT' },
    });
    const sub = join(dir, 'a-directory');
    mkdirSync(sub);
    await expect(engine.scanSegment(sub, 0, 1, { seal })).rejects.toMatchObject({ code: 'chunker.io', details: { op: 'read', errno: 'EISDIR' } });
    await expect(engine.readRange(missing, 0, 10, seal)).rejects.toMatchObject({ code: 'chunker.io', details: { errno: 'ENOENT' } });
    expect(await engine.readFiles([missing], { seal })).toEqual([{ ok: false, code: 'ENOENT', message: `ENOENT: no such file or directory, open '${missing}'` }]);
  });

  it('refuses work after close, which is safe to call twice', async () => {
    const { addon } = loadContentAddon();
    const e = new NativeContent(addon!, config, idKey);
    const path = join(dir, 'one');
    writeFileSync(path, 'x');
    const pending = e.readFiles([path], { seal });
    await e.close();
    await e.close();
    expect((await pending)[0]).toMatchObject({ ok: true, size: 1 });
    await expect(e.readFiles([path], { seal })).rejects.toMatchObject({ code: 'content.closed' });
  });
});

describe('choosing the content engine', () => {
  it('reads FERRY_CONTENT_ENGINE, and gives worker threads or the addon as asked', async () => {
    expect(contentEngineKind(undefined)).toBe(ContentEngineKind.Auto);
    expect(contentEngineKind('workers')).toBe(ContentEngineKind.Workers);
    expect(() => contentEngineKind('gpu')).toThrow(expect.objectContaining({ code: 'content.bad-engine' }));
    const workers = await openContentEngine(config, idKey, { kind: 'workers' });
    const native = await openContentEngine(config, idKey, { kind: 'auto' });
    try {
      expect(workers).toBeInstanceOf(BlobWorkers);
      expect(native).toBeInstanceOf(NativeContent);
    } finally {
      await workers.close();
      await native.close();
    }
  });
});
