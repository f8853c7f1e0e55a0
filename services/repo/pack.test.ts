import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { PackBuilder, readPackTrailer } from './pack.ts';
import { PackKind } from './layout.ts';
import { BlobType } from './blob.ts';
import { sha256 } from './ids.ts';
import { MemoryStorage } from '../storage/memory.ts';
import { collect } from '../storage/conformance.ts';
import type { ObjectWriter } from '../storage/storage.ts';

const epk = randomBytes(32);
const key = randomBytes(32);
const trailerKey = randomBytes(32);
// Small blobs are gathered into one write, a large one goes alone: both paths keep the order.
const blobs = [randomBytes(100), randomBytes(5000), randomBytes(1_500_000), randomBytes(1), randomBytes(70_000)].map((sealed, i) => ({ id: randomBytes(32), sealed, rawLength: sealed.length + i }));

describe('PackBuilder', () => {
  it('writes the pack piece by piece to a writer that is still starting, names it by its SHA-256, and releases each piece once written', async () => {
    const storage = new MemoryStorage();
    let started!: (w: ObjectWriter) => void;
    const builder = new PackBuilder(PackKind.Data, epk, key, trailerKey, new Promise((resolve) => (started = resolve)));
    // The builder takes what it is given: copies, which it releases once written.
    const given = blobs.map((b) => new Uint8Array(b.sealed));
    for (const [i, b] of blobs.entries()) builder.append(b.id, BlobType.Data, given[i]!, b.rawLength);
    const writer = await storage.writer();
    started(writer);
    const { id, size, entry } = await builder.finish();
    expect(given.map((g) => g.byteLength)).toEqual(blobs.map(() => 0));
    await writer.commit('pack');
    const bytes = await storage.load('pack');
    expect(size).toBe(bytes.length);
    expect(id).toEqual(sha256(bytes));
    expect(bytes[5]).toBe(PackKind.Data);
    const parsed = readPackTrailer(bytes, () => trailerKey, 'pack');
    expect(parsed.blobs.map((b) => [b.offset, b.length, b.rawLength])).toEqual(entry.blobs.map((b) => [b.offset, b.length, b.rawLength]));
    for (const [i, b] of parsed.blobs.entries()) expect(Buffer.from(bytes.subarray(b.offset, b.offset + b.length)).equals(blobs[i]!.sealed)).toBe(true);
  });

  it('raises a failed write from finish(), and the writer then publishes nothing', async () => {
    const storage = new MemoryStorage();
    const writer = await storage.writer();
    const failing: ObjectWriter = { ...writer, write: () => Promise.reject(new Error('disk on fire')) };
    const builder = new PackBuilder(PackKind.Tree, epk, key, trailerKey, Promise.resolve(failing));
    builder.append(blobs[0]!.id, BlobType.Tree, new Uint8Array(blobs[0]!.sealed), 100);
    await expect(builder.finish()).rejects.toThrow('disk on fire');
    await writer.abort();
    expect(await collect(storage.list(''))).toEqual([]);
  });
});
