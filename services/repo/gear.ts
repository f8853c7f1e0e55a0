/**
 * The Gear table that drives FastCDC's rolling hash (see chunker.ts).
 *
 * Part of the on-disk format: every repository has a 32-byte secret seed,
 * and its table is
 *
 *     gear[i] = readUInt32LE(SHA-256(seed || byte(i)), 0)    for i = 0..255
 *
 * Deriving the table from a per-repository seed (instead of using one public
 * table) keeps chunk boundaries, and so chunk sizes, from leaking which
 * well-known files a repository contains. Changing this derivation changes
 * every chunk boundary and breaks deduplication against existing data.
 */
import { createHash } from 'node:crypto';
import { FerryError } from '../../protocol/errors.ts';

export const GEAR_SEED_BYTES = 32;

export const GearErrorCode = {
  BadSeed: 'chunker.bad-seed',
} as const;

/** Derives the 256-entry Gear table from a 32-byte seed. Throws FerryError `chunker.bad-seed` on any other length. */
export function gearTable(seed: Uint8Array): Uint32Array {
  if (seed.length !== GEAR_SEED_BYTES) {
    throw new FerryError(GearErrorCode.BadSeed, `gear seed must be ${GEAR_SEED_BYTES} bytes, got ${seed.length}`, {
      details: { length: seed.length },
    });
  }
  const input = new Uint8Array(GEAR_SEED_BYTES + 1);
  input.set(seed);
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    input[GEAR_SEED_BYTES] = i;
    const digest = createHash('sha256').update(input).digest();
    table[i] = digest.readUInt32LE(0);
  }
  return table;
}
