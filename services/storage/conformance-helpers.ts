/** Helpers of the storage conformance suite, shared by its parts and by driver tests. */
import { expect } from 'vitest';
import type { ObjectInfo } from './storage.ts';

/** Deterministic bytes that differ per seed and per position, so misplaced ranges show. */
export function patternBytes(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Byte equality via memcmp: element-wise deep equality on megabytes is slow. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

export async function collect(items: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** Resolves with what `p` rejected with; fails the test if it resolved. */
export async function rejection(p: Promise<unknown>): Promise<{ code?: unknown; retryable?: unknown; cause?: unknown }> {
  const outcome = await p.then(
    () => ({ ok: true as const }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  if (outcome.ok) throw new Error('expected the operation to fail, but it succeeded');
  expect(outcome.error).toBeTypeOf('object');
  return outcome.error as { code?: unknown; retryable?: unknown; cause?: unknown };
}
