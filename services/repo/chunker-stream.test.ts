/** FastCDC chunker over streams and files: the same cuts as over one buffer, whatever the reads. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCode } from '../../protocol/errors.ts';
import { DEFAULT_CHUNKER_PARAMS, chunkFile, chunkLengths, chunkStream, fileWindowBytes } from './chunker.ts';
import { testStream, testStreamBytes } from './test-stream.ts';
import { KiB, MiB, SMALL, gear, VECTOR_DEFAULT_12MIB, pieces, collect, sha, concat } from './chunker.fixture.ts';

let stream12: Uint8Array;
let dir: string;

beforeAll(async () => {
  stream12 = testStreamBytes(12 * MiB);
  dir = await mkdtemp(join(tmpdir(), 'ferry-chunker-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('streaming', () => {
  it('yields the vector boundaries from the test stream iterator', async () => {
    const chunks = await collect(chunkStream(testStream(12 * MiB, 999_999), gear));
    expect(chunks.map((c) => c.length)).toEqual(VECTOR_DEFAULT_12MIB);
    expect(sha(concat(chunks))).toBe(sha(stream12));
  });

  for (const size of [1, 7, 4096, 1_000_000]) {
    it(`matches whole-buffer chunking with ${size}-byte pieces`, async () => {
      const small = stream12.subarray(0, size < 100 ? 256 * KiB : 12 * MiB);
      const got = await collect(chunkStream(pieces(small, size), gear, SMALL));
      expect(got.map((c) => c.length)).toEqual(chunkLengths(small, gear, SMALL));
      expect(sha(concat(got))).toBe(sha(small));
      if (size >= 4096) {
        const big = await collect(chunkStream(pieces(stream12, size), gear));
        expect(big.map((c) => c.length)).toEqual(VECTOR_DEFAULT_12MIB);
      }
    });
  }

  it('matches with 7-byte pieces under default params', async () => {
    const data = stream12.subarray(0, 3 * MiB);
    const got = await collect(chunkStream(pieces(data, 7), gear));
    expect(got.map((c) => c.length)).toEqual(chunkLengths(data, gear));
  });

  it('matches with pieces of varying sizes and a source that reuses its buffer', async () => {
    const data = stream12.subarray(0, 6 * MiB);
    async function* reusing(): AsyncGenerator<Uint8Array> {
      const buf = new Uint8Array(3 * MiB);
      const sizes = [1, 9 * MiB, 3, 2 * MiB + 5, 77, 8 * MiB, 123_457];
      for (let off = 0, k = 0; off < data.length; k++) {
        const n = Math.min(sizes[k % sizes.length]!, buf.length, data.length - off);
        buf.set(data.subarray(off, off + n));
        yield buf.subarray(0, n);
        buf.fill(0xee); // scribble: the chunker must have copied what it needs
        off += n;
      }
    }
    const got = await collect(chunkStream(reusing(), gear, SMALL));
    expect(got.map((c) => c.length)).toEqual(chunkLengths(data, gear, SMALL));
    expect(sha(concat(got))).toBe(sha(data));
  });

  it('yields fresh, exactly-sized buffers', async () => {
    const got = await collect(chunkStream(pieces(stream12.subarray(0, 1 * MiB), 100_000), gear, SMALL));
    for (const c of got) {
      expect(c.byteOffset).toBe(0);
      expect(c.buffer.byteLength).toBe(c.length);
    }
    expect(new Set(got.map((c) => c.buffer)).size).toBe(got.length);
  });

  it('handles empty and tiny inputs', async () => {
    expect(await collect(chunkStream(pieces(new Uint8Array(0), 10), gear))).toEqual([]);
    const one = await collect(chunkStream(pieces(Uint8Array.of(42), 10), gear));
    expect(one.map((c) => Array.from(c))).toEqual([[42]]);
  });
});

describe('chunkFile', () => {
  it('matches the vectors on a file, for several read sizes', async () => {
    const path = join(dir, 'stream12');
    await writeFile(path, stream12);
    for (const bufferSize of [4096, 1_000_000, undefined, 64 * MiB]) {
      const chunks = await collect(chunkFile(path, gear, DEFAULT_CHUNKER_PARAMS, bufferSize ? { bufferSize } : {}));
      expect(chunks.map((c) => c.length)).toEqual(VECTOR_DEFAULT_12MIB);
      expect(sha(concat(chunks))).toBe(sha(stream12));
    }
  });

  it('matches whole-buffer chunking with 1- and 7-byte reads', async () => {
    const data = stream12.subarray(0, 32 * KiB); // a few chunks: 1-byte reads are slow
    const path = join(dir, 'small');
    await writeFile(path, data);
    for (const bufferSize of [1, 7]) {
      const chunks = await collect(chunkFile(path, gear, SMALL, { bufferSize }));
      expect(chunks.map((c) => c.length)).toEqual(chunkLengths(data, gear, SMALL));
    }
  });

  it('starting at a chunk boundary yields the rest of the whole-file chunking', async () => {
    const path = join(dir, 'stream12-from');
    await writeFile(path, stream12);
    let start = 0;
    for (const [k, len] of VECTOR_DEFAULT_12MIB.entries()) {
      if (k === 0 || k === 3 || k === VECTOR_DEFAULT_12MIB.length - 1) {
        const tail = await collect(chunkFile(path, gear, DEFAULT_CHUNKER_PARAMS, { start }));
        expect(tail.map((c) => c.length)).toEqual(VECTOR_DEFAULT_12MIB.slice(k));
        expect(sha(concat(tail))).toBe(sha(stream12.subarray(start)));
      }
      start += len;
    }
    expect(await collect(chunkFile(path, gear, DEFAULT_CHUNKER_PARAMS, { start }))).toEqual([]);
  });

  it('cuts the same chunks into a scratch window reused across files, as the blob workers do, up to maxSize chunks', async () => {
    // Zeros never cut before maxSize, so a chunk fills the whole window.
    const mixed = concat([stream12.subarray(0, 3 * MiB), new Uint8Array(20 * MiB), stream12.subarray(3 * MiB)]);
    const paths = [join(dir, 'scratch-a'), join(dir, 'scratch-b')] as const;
    await writeFile(paths[0], mixed);
    await writeFile(paths[1], stream12);
    const scratch = new Uint8Array(fileWindowBytes(DEFAULT_CHUNKER_PARAMS));
    for (const [path, data] of [[paths[0], mixed], [paths[1], stream12], [paths[0], mixed]] as const) {
      const copies: Uint8Array[] = [];
      for (const view of chunkFile(path, gear, DEFAULT_CHUNKER_PARAMS, { scratch, views: true })) copies.push(view.slice()); // a view lasts until the next chunk
      expect(copies.map((c) => c.length)).toEqual(chunkLengths(data, gear));
      expect(sha(concat(copies))).toBe(sha(data));
    }
    expect(chunkLengths(mixed, gear)).toContain(DEFAULT_CHUNKER_PARAMS.maxSize);
  });

  it('chunks an empty file to nothing and a file under minSize to one chunk', async () => {
    const empty = join(dir, 'empty');
    await writeFile(empty, new Uint8Array(0));
    expect(await collect(chunkFile(empty, gear))).toEqual([]);
    const tiny = join(dir, 'tiny');
    await writeFile(tiny, stream12.subarray(0, 1000));
    const chunks = await collect(chunkFile(tiny, gear));
    expect(chunks.map((c) => c.length)).toEqual([1000]);
  });

  it('reports a missing file as chunker.io', async () => {
    await expect(collect(chunkFile(join(dir, 'nope'), gear))).rejects.toSatisfy((err: unknown) =>
      hasCode(err, 'chunker.io'),
    );
  });
});
