/**
 * Shared by the chunker's tests: the published test vectors of the on-disk
 * chunking format, and helpers to feed and check chunkers.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { expect } from 'vitest';
import { gearTable, type ChunkerParams } from './chunker.ts';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const SMALL: ChunkerParams = { minSize: 2048, avgSize: 8192, maxSize: 65536 };

/** Seed of the published vectors: the 32 bytes 0x00, 0x01, …, 0x1f. */
export const VECTOR_SEED = Uint8Array.from({ length: 32 }, (_, i) => i);
export const gear = gearTable(VECTOR_SEED);

/*
 * TEST VECTORS (on-disk format). Data is the test stream of test-stream.ts:
 * SHA-256(u32le(0)) || SHA-256(u32le(1)) || …; the gear seed is VECTOR_SEED.
 * Cross-checked against an independent, literal Python transcription of the
 * algorithm in the chunker.ts doc comment.
 */
export const VECTOR_GEAR_FIRST4 = [0xcb0d171b, 0x6fd9448b, 0x52702857, 0x38534c94];

/** Default params (256 KiB / 512 KiB / 2 MiB) over the first 12 MiB of the stream. */
export const VECTOR_DEFAULT_12MIB = [
  561981, 729930, 581117, 629768, 966049, 607951, 564644, 531937, 279924, 564151, 548945, 593884, 553970, 623862,
  559465, 794037, 333113, 587466, 534010, 673130, 584326, 179252,
];

/** The 1 MiB params: restic's sizes, and Ferry's default before 512 KiB (existing repositories keep them). */
export const MIB_PARAMS: ChunkerParams = { minSize: 512 * KiB, avgSize: MiB, maxSize: 8 * MiB };

/** MIB_PARAMS over the first 12 MiB of the stream. */
export const VECTOR_MIB_12MIB = [
  1291911, 618762, 1587495, 1143272, 811861, 1113096, 1160368, 1170813, 794037, 1633007, 1079038, 179252,
];

/** {minSize: 2048, avgSize: 8192, maxSize: 65536} over the first 256 KiB of the stream. */
export const VECTOR_SMALL_256KIB = [
  10136, 8195, 12948, 8418, 10194, 8458, 12523, 4391, 9291, 10228, 8354, 9639, 8445, 10051, 13508, 10300, 8205, 4184,
  9555, 7134, 16322, 8328, 8546, 4713, 5765, 11646, 9506, 10275, 2886,
];

/** Same small params over 256 KiB of zero bytes: the hash settles without a cut, so every chunk is maxSize. */
export const VECTOR_SMALL_ZEROS_256KIB = [65536, 65536, 65536, 65536];

/** Fast deterministic pseudo-random bytes (AES-256-CTR keystream under a label-derived key). */
export function prng(label: string, length: number): Uint8Array {
  const key = createHash('sha256').update(label).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const out = new Uint8Array(length);
  const zeros = Buffer.alloc(Math.min(length, 16 * MiB));
  for (let off = 0; off < length; off += zeros.length) {
    const n = Math.min(zeros.length, length - off);
    out.set(cipher.update(zeros.subarray(0, n)), off);
  }
  return out;
}

export async function* pieces(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let off = 0; off < data.length; off += size) yield data.subarray(off, Math.min(data.length, off + size));
}

export async function collect(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const c of chunks) out.push(c);
  return out;
}

export function sha(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

export function expectWithinBounds(lengths: number[], params: ChunkerParams, total: number): void {
  expect(lengths.reduce((a, b) => a + b, 0)).toBe(total);
  lengths.forEach((len, i) => {
    expect(len).toBeLessThanOrEqual(params.maxSize);
    if (i < lengths.length - 1) expect(len).toBeGreaterThanOrEqual(params.minSize);
    else expect(len).toBeGreaterThan(0);
  });
}
