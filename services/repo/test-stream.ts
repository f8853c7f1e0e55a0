/**
 * A deterministic, incompressible byte stream for tests, benchmarks and the
 * chunker's published test vectors.
 *
 * Definition (keep it stable: test vectors in chunker.test.ts depend on it):
 *
 *     stream = SHA-256(u32le(0)) || SHA-256(u32le(1)) || SHA-256(u32le(2)) || …
 *
 * i.e. the concatenation of the 32-byte SHA-256 digests of a counter encoded
 * as 4 little-endian bytes, starting at 0. `testStreamBytes(n)` is its first
 * n bytes. The counter is a u32, so the stream is defined for up to 128 GiB.
 */
import { createHash } from 'node:crypto';

const BLOCK = 32;

/** The first `length` bytes of the test stream, in one fresh buffer. */
export function testStreamBytes(length: number): Uint8Array {
  if (!Number.isSafeInteger(length) || length < 0 || length > BLOCK * 2 ** 32) {
    throw new RangeError(`test stream length out of range: ${length}`);
  }
  const out = new Uint8Array(length);
  const counter = Buffer.alloc(4);
  for (let block = 0, off = 0; off < length; block++, off += BLOCK) {
    counter.writeUInt32LE(block, 0);
    const digest = createHash('sha256').update(counter).digest();
    out.set(length - off >= BLOCK ? digest : digest.subarray(0, length - off), off);
  }
  return out;
}

/**
 * The first `length` bytes of the test stream as an async iterable of pieces of
 * `pieceSize` bytes (the last may be shorter). Pieces are fresh buffers.
 */
export async function* testStream(length: number, pieceSize = 1 << 20): AsyncGenerator<Uint8Array> {
  if (!Number.isSafeInteger(pieceSize) || pieceSize < 1) throw new RangeError(`bad piece size: ${pieceSize}`);
  const all = testStreamBytes(length);
  for (let off = 0; off < length; off += pieceSize) yield all.slice(off, Math.min(length, off + pieceSize));
}
