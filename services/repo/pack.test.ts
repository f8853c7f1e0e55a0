import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { PackBuilder, readPackTrailer } from './pack.ts';
import { PackKind } from './layout.ts';
import { BlobType } from './blob.ts';
import { sha256 } from './ids.ts';

const epk = randomBytes(32);
const key = randomBytes(32);
const trailerKey = randomBytes(32);
const blobs = [randomBytes(100), randomBytes(5000), randomBytes(1), randomBytes(70_000)].map((sealed, i) => ({ id: randomBytes(32), sealed, rawLength: sealed.length + i }));

function build(buffer?: Uint8Array): ReturnType<PackBuilder['finish']> & { builder: PackBuilder } {
  const builder = new PackBuilder(PackKind.Data, epk, key, trailerKey, buffer);
  for (const b of blobs) builder.append(b.id, BlobType.Data, b.sealed, b.rawLength);
  return { builder, ...builder.finish() };
}

describe('PackBuilder', () => {
  it('builds the same pack in a buffer it outgrows as in its own', () => {
    const own = build();
    const small = build(new Uint8Array(64));
    expect(small.builder.buffer.length).toBeGreaterThanOrEqual(small.bytes.length);
    expect(small.bytes.length).toBe(own.bytes.length);
    // Header and blobs are the same bytes; the trailers differ only in their random nonce.
    const dataEnd = own.entry.blobs.at(-1)!.offset + own.entry.blobs.at(-1)!.length;
    expect(Buffer.from(small.bytes.subarray(0, dataEnd)).equals(Buffer.from(own.bytes.subarray(0, dataEnd)))).toBe(true);
    expect(small.id).toEqual(sha256(small.bytes));
    const parsed = readPackTrailer(small.bytes, () => trailerKey, 'pack');
    expect(parsed.blobs.map((b) => [b.offset, b.length, b.rawLength])).toEqual(own.entry.blobs.map((b) => [b.offset, b.length, b.rawLength]));
    for (const [i, b] of parsed.blobs.entries()) expect(Buffer.from(small.bytes.subarray(b.offset, b.offset + b.length)).equals(blobs[i]!.sealed)).toBe(true);
  });

  it('reuses a buffer: a second pack in it is whole and the first one\'s bytes are not needed', () => {
    const buffer = new Uint8Array(200_000);
    const first = build(buffer);
    expect(first.builder.buffer).toBe(buffer);
    const firstCopy = Buffer.from(first.bytes);
    const second = new PackBuilder(PackKind.Tree, epk, key, trailerKey, buffer);
    second.append(blobs[0]!.id, BlobType.Tree, blobs[0]!.sealed, 100);
    const out = second.finish();
    expect(out.bytes.buffer).toBe(buffer.buffer);
    expect(out.bytes[5]).toBe(PackKind.Tree);
    const parsed = readPackTrailer(out.bytes, () => trailerKey, 'pack');
    expect(parsed.blobs).toHaveLength(1);
    expect(parsed.kind).toBe(PackKind.Tree);
    expect(readPackTrailer(firstCopy, () => trailerKey, 'pack').blobs).toHaveLength(blobs.length);
  });
});
