/** FastCDC chunker: gear table, published vectors, cut search and chunk properties. */
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { hasCode } from '../../protocol/errors.ts';
import { DEFAULT_CHUNKER_PARAMS, chunkLengths, findCut, gearTable, validateChunkerParams, type ChunkerParams } from './chunker.ts';
import { testStreamBytes } from './test-stream.ts';
import {
  KiB,
  MiB,
  SMALL,
  VECTOR_SEED,
  gear,
  VECTOR_GEAR_FIRST4,
  VECTOR_DEFAULT_12MIB,
  MIB_PARAMS,
  VECTOR_MIB_12MIB,
  VECTOR_SMALL_256KIB,
  VECTOR_SMALL_ZEROS_256KIB,
  prng,
  sha,
  concat,
  expectWithinBounds,
} from './chunker.fixture.ts';

let stream12: Uint8Array;

beforeAll(async () => {
  stream12 = testStreamBytes(12 * MiB);
});

describe('gear table', () => {
  it('matches the published first values', () => {
    expect(Array.from(gear.subarray(0, 4))).toEqual(VECTOR_GEAR_FIRST4);
    expect(gear.length).toBe(256);
  });

  it('follows SHA-256(seed || i) for every entry', () => {
    for (let i = 0; i < 256; i++) {
      const d = createHash('sha256').update(VECTOR_SEED).update(Uint8Array.of(i)).digest();
      expect(gear[i]).toBe(d.readUInt32LE(0));
    }
  });

  it('rejects seeds that are not 32 bytes', () => {
    expect(() => gearTable(new Uint8Array(31))).toThrow(expect.objectContaining({ code: 'chunker.bad-seed' }));
  });
});

describe('test stream', () => {
  it('is SHA-256 of a little-endian u32 counter', () => {
    const s = testStreamBytes(70);
    const d1 = createHash('sha256').update(Uint8Array.of(1, 0, 0, 0)).digest();
    expect(Buffer.from(s.subarray(32, 64))).toEqual(d1);
    expect(sha(concat([testStreamBytes(32)]))).toBe(sha(createHash('sha256').update(new Uint8Array(4)).digest()));
    expect(s.subarray(0, 50)).toEqual(testStreamBytes(50));
  });
});

describe('test vectors', () => {
  it('default params over 12 MiB of the test stream', () => {
    expect(chunkLengths(stream12, gear)).toEqual(VECTOR_DEFAULT_12MIB);
  });

  it('the 1 MiB params (restic sizes, existing repositories) over 12 MiB of the test stream', () => {
    expect(chunkLengths(stream12, gear, MIB_PARAMS)).toEqual(VECTOR_MIB_12MIB);
  });

  it('small params over 256 KiB of the test stream', () => {
    expect(chunkLengths(stream12.subarray(0, 256 * KiB), gear, SMALL)).toEqual(VECTOR_SMALL_256KIB);
  });

  it('small params over 256 KiB of zeros', () => {
    expect(chunkLengths(new Uint8Array(256 * KiB), gear, SMALL)).toEqual(VECTOR_SMALL_ZEROS_256KIB);
  });

  it('uses maskS = 0xFFFFFC00 before avgSize and maskL = 0xFFFFC000 after it (1 MiB)', () => {
    const params = MIB_PARAMS;
    const { minSize, avgSize, maxSize } = params;
    const g = new Uint32Array(256);
    // Data of byte 1 only: the first hashed byte gives h = g[1].
    const ones = new Uint8Array(minSize + 100).fill(1);
    g[1] = 0x3ff; // bits 0..9: outside maskS, cuts at once
    expect(findCut(ones, 0, ones.length, g, params)).toBe(minSize + 1);
    // 0x400: h = 0x400 * (2^k - 1) keeps bits >= 10 set and settles at
    // 0xFFFFFC00, so it never cuts under either mask.
    g[1] = 0x400;
    expect(findCut(ones, 0, ones.length, g, params)).toBe(ones.length);

    // Byte 2 at offset avgSize (the first byte hashed under maskL) turns
    // h = 0xFFFFFC00 into (0xFFFFF800 + g[2]) mod 2^32.
    const data = new Uint8Array(avgSize + 100).fill(1);
    data[avgSize] = 2;
    g[2] = 0x4400; // h = 0x3C00: fails maskS, passes maskL: cut right there
    expect(findCut(data, 0, data.length, g, params)).toBe(avgSize + 1);
    g[2] = 0x4800; // h = 0x4000: bit 14 is inside maskL, no cut
    expect(findCut(data, 0, data.length, g, params)).toBe(data.length);
    // The same byte one position earlier is judged by maskS and does not cut.
    const early = new Uint8Array(avgSize + 100).fill(1);
    early[avgSize - 1] = 2;
    g[2] = 0x4400;
    expect(findCut(early, 0, early.length, g, params)).toBe(early.length);
    // No cut at all: the chunk stops at maxSize.
    const long = new Uint8Array(maxSize + 5).fill(1);
    expect(findCut(long, 0, long.length, g, params)).toBe(maxSize);
  });
});

describe('findCut', () => {
  it('returns the rest when it is at most minSize, and 0 for nothing', () => {
    const d = stream12.subarray(0, SMALL.minSize);
    expect(findCut(d, 0, d.length, gear, SMALL)).toBe(SMALL.minSize);
    expect(findCut(d, 10, 10, gear, SMALL)).toBe(0);
  });

  it('resumed from where the last answer of 0 ended, finds the cut a single scan finds', () => {
    // Random text, then a long run of one byte value: chunks of every length up to maxSize.
    const data = new Uint8Array(768 * KiB);
    data.set(stream12.subarray(0, 512 * KiB));
    data.fill(7, 512 * KiB);
    const truth = chunkLengths(data, gear, SMALL);
    expect(truth).toContain(SMALL.maxSize);
    for (const piece of [1, 31, 32, 33, 1000, 4096]) {
      const got: number[] = [];
      for (let start = 0; start < data.length; ) {
        let end = start;
        let from = start;
        let n = 0;
        while (n === 0) {
          end = Math.min(data.length, end + piece);
          n = findCut(data, start, end, gear, SMALL, end === data.length, from);
          from = end;
        }
        got.push(n);
        start += n;
      }
      expect(got, `pieces of ${piece} bytes`).toEqual(truth);
    }
    expect(() => findCut(data, 10, 20, gear, SMALL, false, 21)).toThrow(/bad range/);
    expect(() => findCut(data, 10, 20, gear, SMALL, false, 9)).toThrow(/bad range/);
  });

  it('never hashes the first minSize bytes of a chunk', () => {
    const a = stream12.slice(0, 64 * KiB);
    const b = a.slice();
    b.fill(0xaa, 0, SMALL.minSize);
    expect(findCut(a, 0, a.length, gear, SMALL)).toBe(findCut(b, 0, b.length, gear, SMALL));
  });

  it('without eof answers 0 or the final cut, never a wrong one', () => {
    const data = stream12.subarray(0, 512 * KiB);
    const truth = chunkLengths(data, gear, SMALL);
    let start = 0;
    for (const len of truth.slice(0, -1)) {
      for (const avail of [1, SMALL.minSize, SMALL.minSize + 1, len - 1, len, len + 1, SMALL.maxSize - 1, SMALL.maxSize]) {
        const end = Math.min(data.length, start + avail);
        const got = findCut(data, start, end, gear, SMALL, false);
        if (got !== 0) expect(got).toBe(len);
        if (end - start >= len && end - start > SMALL.minSize) expect(got).toBe(len);
      }
      start += len;
    }
  });

  it('rejects bad params and ranges with codes', () => {
    const bad = (p: ChunkerParams): unknown => {
      try {
        validateChunkerParams(p);
      } catch (err) {
        return err;
      }
      return undefined;
    };
    expect(hasCode(bad({ minSize: 100, avgSize: 3000, maxSize: 9000 }), 'chunker.bad-params')).toBe(true);
    expect(hasCode(bad({ minSize: 5000, avgSize: 4096, maxSize: 9000 }), 'chunker.bad-params')).toBe(true);
    expect(hasCode(bad({ minSize: 1, avgSize: 4, maxSize: 9 }), 'chunker.bad-params')).toBe(true);
    expect(hasCode(bad({ minSize: 1.5, avgSize: 4096, maxSize: 9000 }), 'chunker.bad-params')).toBe(true);
    expect(bad(DEFAULT_CHUNKER_PARAMS)).toBeUndefined();
    expect(() => findCut(new Uint8Array(10), 5, 11, gear)).toThrow(expect.objectContaining({ code: 'chunker.bad-range' }));
    expect(() => findCut(new Uint8Array(10), 0, 10, new Uint32Array(255))).toThrow(
      expect.objectContaining({ code: 'chunker.bad-params' }),
    );
  });
});

describe('chunk properties', () => {
  it('keeps every chunk within [min, max] except the last', () => {
    expectWithinBounds(chunkLengths(stream12, gear), DEFAULT_CHUNKER_PARAMS, stream12.length);
    expectWithinBounds(chunkLengths(stream12, gear, SMALL), SMALL, stream12.length);
  });

  it('handles zero bytes and repetitive data', () => {
    const zeros = new Uint8Array(20 * MiB + 123);
    const z = chunkLengths(zeros, gear);
    expectWithinBounds(z, DEFAULT_CHUNKER_PARAMS, zeros.length);
    expect(z.slice(0, -1).every((n) => n === DEFAULT_CHUNKER_PARAMS.maxSize)).toBe(true);

    // 64 KiB of the stream repeated: once boundaries resynchronize the chunks
    // repeat, so there are few distinct chunks.
    const block = stream12.subarray(0, 64 * KiB);
    const rep = concat(Array.from({ length: 64 }, () => block));
    const lengths = chunkLengths(rep, gear, SMALL);
    expectWithinBounds(lengths, SMALL, rep.length);
    const hashes = new Set<string>();
    let pos = 0;
    for (const len of lengths) {
      hashes.add(sha(rep.subarray(pos, pos + len)));
      pos += len;
    }
    expect(hashes.size).toBeLessThan(lengths.length / 4);

    // A short period (mostly bytes 0..255 plus a tag) and a data/zeros mix.
    const pattern = concat(Array.from({ length: 4000 }, () => concat([Uint8Array.from({ length: 1024 }, (_, i) => i & 255), Buffer.from('ferry')])));
    expectWithinBounds(chunkLengths(pattern, gear), DEFAULT_CHUNKER_PARAMS, pattern.length);
    const mixed = concat([stream12.subarray(0, 3 * MiB), new Uint8Array(5 * MiB), stream12.subarray(3 * MiB, 6 * MiB)]);
    expectWithinBounds(chunkLengths(mixed, gear), DEFAULT_CHUNKER_PARAMS, mixed.length);
  });

  it('is deterministic, and depends on the seed', () => {
    const data = stream12.subarray(0, 4 * MiB);
    expect(chunkLengths(data, gearTable(VECTOR_SEED), SMALL)).toEqual(chunkLengths(data, gear, SMALL));
    const other = gearTable(new Uint8Array(32).fill(7));
    expect(chunkLengths(data, other, SMALL)).not.toEqual(chunkLengths(data, gear, SMALL));
  });

  it('confines an insertion in 40 MiB of random data to the chunks around it', () => {
    const data = prng('ferry-chunker-edit', 40 * MiB);
    const mid = 20 * MiB + 12345;
    const edited = concat([data.subarray(0, mid), Buffer.from('hello'), data.subarray(mid)]);
    const hashesOf = (d: Uint8Array): string[] => {
      const out: string[] = [];
      let pos = 0;
      for (const len of chunkLengths(d, gear)) {
        out.push(sha(d.subarray(pos, pos + len)));
        pos += len;
      }
      return out;
    };
    const before = hashesOf(data);
    const after = hashesOf(edited);
    const known = new Set(before);
    const fresh = after.filter((h) => !known.has(h));
    expect(before.length).toBeGreaterThan(20);
    // Normally exactly one chunk changes; allow a second if the edit creates or removes a cut.
    expect(fresh.length).toBeGreaterThanOrEqual(1);
    expect(fresh.length).toBeLessThanOrEqual(2);
    expect(after.length - fresh.length).toBeGreaterThanOrEqual(before.length - 2);
  });
});
