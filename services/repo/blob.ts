/**
 * One blob as stored inside a pack: AEAD(packKey, codec byte ‖ payload,
 * aad = blob ID ‖ blob type). The blob ID in the AAD binds ciphertext to its
 * ID, so a blob moved or swapped inside the repository fails to open.
 * Pure functions: they run both on the main thread and in seal workers.
 */
import { open, seal } from '../crypto/aead.ts';
import { Compression, compress, decompress } from './compression.ts';
import { releaseBuffer } from '../buffers/release-buffer.ts';

export const BlobType = { Data: 0, Tree: 1 } as const;
export type BlobType = (typeof BlobType)[keyof typeof BlobType];

function aadFor(id: Uint8Array, type: BlobType): Uint8Array {
  const aad = new Uint8Array(33);
  aad.set(id, 0);
  aad[32] = type;
  return aad;
}

export function sealBlob(packKey: Uint8Array, id: Uint8Array, type: BlobType, plaintext: Uint8Array, level: number): Uint8Array {
  const { codec, data } = compress(plaintext, level);
  return seal(packKey, [Uint8Array.of(codec), data], aadFor(id, type));
}

/** The decrypted frame is freed once decompressed (uncompressed blobs are returned as a view of it). */
export function openBlob(packKey: Uint8Array, id: Uint8Array, type: BlobType, sealed: Uint8Array, what: string): Uint8Array {
  const framed = open(packKey, sealed, aadFor(id, type), what);
  const codec = framed[0] as Compression;
  const plain = decompress(codec, framed.subarray(1), what);
  if (codec !== Compression.None) releaseBuffer(framed);
  return plain;
}
