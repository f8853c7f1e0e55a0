/** The typed-array master index: lookups, first-location-wins, growth and malformed entries. */
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { MasterIndex } from './master-index.ts';
import type { PackEntry } from './index-file.ts';
import { PackKind } from './layout.ts';
import { BlobType } from './blob.ts';

const id = () => new Uint8Array(randomBytes(32));

function pack(blobs: number, offsetBase = 0): PackEntry {
  return {
    id: id(), kind: PackKind.Data, epk: id(),
    blobs: Array.from({ length: blobs }, (_, i) => ({ id: id(), type: BlobType.Data, offset: offsetBase + i * 100, length: 100, rawLength: 150 + i })),
  };
}

describe('MasterIndex', () => {
  it('finds every blob of many packs past several growths, and nothing else', () => {
    const index = new MasterIndex();
    const packs = Array.from({ length: 40 }, () => pack(1000));
    for (const p of packs) index.addPack(p);
    expect(index.blobCount).toBe(40_000);
    expect(index.packCount).toBe(40);
    for (const p of packs) {
      for (const [i, b] of p.blobs.entries()) {
        const loc = index.get(b.id);
        expect(loc?.pack.id).toEqual(p.id);
        expect([loc?.offset, loc?.length, loc?.rawLength, loc?.type]).toEqual([i * 100, 100, 150 + i, BlobType.Data]);
      }
    }
    for (let i = 0; i < 10_000; i++) expect(index.has(id())).toBe(false);
    expect(index.has(new Uint8Array(31))).toBe(false);
    expect([...index.allBlobs()].length).toBe(40_000);
    expect(packs[0]!.blobs.length * 100).toBe(index.get(packs[0]!.blobs[0]!.id)!.pack.dataEnd);
  });

  it('keeps the first location of a blob listed twice, and a subarray ID finds it', () => {
    const index = new MasterIndex();
    const a = pack(3);
    const b: PackEntry = { ...pack(0), blobs: [{ ...a.blobs[1]!, offset: 9999 }] };
    index.addPack(a);
    index.addPack(b);
    expect(index.blobCount).toBe(3);
    const loc = index.get(a.blobs[1]!.id)!;
    expect([loc.pack.id, loc.offset]).toEqual([a.id, 100]);
    const framed = new Uint8Array(40);
    framed.set(a.blobs[2]!.id, 5);
    expect(index.has(framed.subarray(5, 37))).toBe(true);
  });

  it('refuses an entry with a short ID or beyond 4 GiB', () => {
    const index = new MasterIndex();
    expect(() => index.addPack({ ...pack(0), blobs: [{ id: new Uint8Array(16), type: BlobType.Data, offset: 0, length: 1, rawLength: 1 }] })).toThrow(expect.objectContaining({ code: 'repo.corrupt' }));
    expect(() => index.addPack({ ...pack(0), blobs: [{ id: id(), type: BlobType.Data, offset: 2 ** 32, length: 1, rawLength: 1 }] })).toThrow(expect.objectContaining({ code: 'repo.corrupt' }));
  });

  it('keeps blobs of marked packs readable but not usable for deduplication, until unmarked', () => {
    const idx = new MasterIndex();
    const a = pack(3);
    const b = pack(2);
    idx.addPack(a);
    idx.addPack(b);
    const nameOf = (p: PackEntry) => [...idx.allPacks()].find((r) => Buffer.from(r.id).equals(p.id))!.name;
    idx.setMarked(new Set([nameOf(a)]));
    for (const blob of a.blobs) {
      expect(idx.has(blob.id)).toBe(true);
      expect(idx.usable(blob.id)).toBe(false);
      expect(idx.get(blob.id)?.pack.name).toBe(nameOf(a));
    }
    for (const blob of b.blobs) expect(idx.usable(blob.id)).toBe(true);
    idx.setMarked(new Set());
    expect(a.blobs.every((blob) => idx.usable(blob.id))).toBe(true);
    expect(idx.usable(randomBytes(32))).toBe(false);
  });
});
