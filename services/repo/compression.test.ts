import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { Compression, compress, decompress } from './compression.ts';
import { BlobType, openBlob, sealBlob } from './blob.ts';

/** Text-like bytes that zstd shrinks a lot. */
function compressible(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = 97 + ((i * 7 + seed + (i >> 9)) % 13);
  return out;
}

describe('compress', () => {
  it('round-trips, and leaves data that does not shrink as it is', () => {
    const text = compressible(100_000, 1);
    const z = compress(text, 3);
    expect(z.codec).toBe(Compression.Zstd);
    expect(z.data.length).toBeLessThan(text.length / 4);
    expect(Buffer.from(decompress(z.codec, z.data, 'test'))).toEqual(Buffer.from(text));

    const noise = randomBytes(100_000);
    const r = compress(noise, 3);
    expect(r.codec).toBe(Compression.None);
    expect(r.data).toBe(noise);
  });

  // The result is a view into a reused buffer: the next call overwrites it.
  // Sealing must have copied it by then, or blobs would silently corrupt.
  it('a sealed blob is unaffected by later compression on the same thread', () => {
    const key = randomBytes(32);
    const a = compressible(300_000, 2);
    const b = compressible(300_000, 5);
    const idA = randomBytes(32);
    const sealedA = sealBlob(key, idA, BlobType.Data, a, 3);
    const before = Buffer.from(sealedA);
    sealBlob(key, randomBytes(32), BlobType.Data, b, 3);
    compress(compressible(1_000_000, 9), 3);
    expect(Buffer.from(sealedA)).toEqual(before);
    expect(Buffer.from(openBlob(key, idA, BlobType.Data, sealedA, 'blob'))).toEqual(Buffer.from(a));
  });

  it('compresses inputs larger than the reused buffer holds', () => {
    const big = compressible(12 * 1024 * 1024, 3); // above the largest chunk's bound: a buffer of its own
    const z = compress(big, 3);
    expect(z.codec).toBe(Compression.Zstd);
    const small = compress(compressible(50_000, 4), 3); // the reused buffer still works afterwards
    expect(Buffer.from(decompress(z.codec, z.data, 'big')).equals(big)).toBe(true); // toEqual is slow on 12 MiB
    expect(Buffer.from(decompress(small.codec, small.data, 'small'))).toEqual(Buffer.from(compressible(50_000, 4)));
  });
});
