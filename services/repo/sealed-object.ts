/**
 * Whole metadata objects (config, index files, snapshots, prune marks): compressed, then
 * sealed with the object key (HKDF of metaKey). Layout:
 *
 *   "FRYO" (4) | version = 1 (1) | type (1) | compression (1) | 0 (1) | AEAD(nonce ‖ ct ‖ tag)
 *
 * The 8-byte header is the AEAD's additional data, so type and compression
 * cannot be swapped. Compression 0 = none, 1 = zstd.
 */
import { open, seal } from '../crypto/aead.ts';
import { RepoError, RepoErrorCode } from './errors.ts';
import { compress, decompress, Compression } from './compression.ts';

export const ObjectType = { Config: 1, Index: 2, Snapshot: 3, PruneMark: 4 } as const;
export type ObjectType = (typeof ObjectType)[keyof typeof ObjectType];

const MAGIC = [0x46, 0x52, 0x59, 0x4f]; // "FRYO"
const HEADER = 8;

export function sealObject(key: Uint8Array, type: ObjectType, payload: Uint8Array, level: number): Uint8Array {
  const { codec, data } = compress(payload, level);
  const header = new Uint8Array([...MAGIC, 1, type, codec, 0]);
  const body = seal(key, data, header);
  const out = new Uint8Array(HEADER + body.length);
  out.set(header, 0);
  out.set(body, HEADER);
  return out;
}

export function openObject(key: Uint8Array, expected: ObjectType, bytes: Uint8Array, what: string): Uint8Array {
  if (bytes.length < HEADER || MAGIC.some((m, i) => bytes[i] !== m)) {
    throw new RepoError(RepoErrorCode.Corrupt, `${what} is not a Ferry object (bad magic)`, { details: { object: what } });
  }
  if (bytes[4] !== 1) throw new RepoError(RepoErrorCode.Unsupported, `${what} has format version ${bytes[4]}, this Ferry reads version 1`);
  if (bytes[5] !== expected) throw new RepoError(RepoErrorCode.Corrupt, `${what} has object type ${bytes[5]}, expected ${expected}`);
  const header = bytes.subarray(0, HEADER);
  const plain = open(key, bytes.subarray(HEADER), header, what);
  return decompress(bytes[6] as Compression, plain, what);
}
