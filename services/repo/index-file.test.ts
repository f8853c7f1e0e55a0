/** Index files decode exactly what was encoded, tolerate fields they do not know, and refuse damage. */
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { pack } from 'msgpackr';
import { decodeIndex, encodeIndex, type PackEntry } from './index-file.ts';
import { PackKind } from './layout.ts';
import { BlobType } from './blob.ts';

const id = () => new Uint8Array(randomBytes(32));
const packs: PackEntry[] = [
  { id: id(), kind: PackKind.Data, epk: id(), blobs: [{ id: id(), type: BlobType.Data, offset: 40, length: 5000, rawLength: 9000 }, { id: id(), type: BlobType.Data, offset: 5040, length: 2 ** 31, rawLength: 70000 }] },
  { id: id(), kind: PackKind.Tree, epk: id(), blobs: [] },
];
const plain = (p: readonly PackEntry[]) => p.map((x) => ({ ...x, id: [...x.id], epk: [...x.epk], blobs: x.blobs.map((b) => ({ ...b, id: [...b.id] })) }));

describe('index files', () => {
  it('round-trip', () => {
    expect(plain(decodeIndex(encodeIndex(packs)))).toEqual(plain(packs));
  });

  it('skip keys and blob fields a later version may add', () => {
    const p = packs[0]!;
    const bytes = pack({ v: 1, note: 'x', packs: [{ id: p.id, kind: p.kind, epk: p.epk, extra: { a: [1, 2] }, blobs: p.blobs.map((b) => [b.id, b.type, b.offset, b.length, b.rawLength, 'future']) }] });
    expect(plain(decodeIndex(bytes))).toEqual(plain([p]));
  });

  it('refuse truncation, a short blob entry and another version as repo.corrupt', () => {
    const corrupt = expect.objectContaining({ code: 'repo.corrupt' });
    const bytes = encodeIndex(packs);
    expect(() => decodeIndex(bytes.subarray(0, bytes.length - 7))).toThrow(corrupt);
    expect(() => decodeIndex(pack({ v: 1, packs: [{ id: id(), kind: 0, epk: id(), blobs: [[id(), 0, 1]] }]}))).toThrow(corrupt);
    expect(() => decodeIndex(pack({ v: 2, packs: [] }))).toThrow(corrupt);
    expect(() => decodeIndex(pack({ v: 1, packs: [{ kind: 0, blobs: [] }] }))).toThrow(corrupt);
  });
});
