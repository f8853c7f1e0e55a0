import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { KnownBlobs, KnownBlobsView } from './known-blobs.ts';

const ids = (n: number): Uint8Array[] => Array.from({ length: n }, () => new Uint8Array(randomBytes(32)));

describe('KnownBlobs', () => {
  it('answers yes for every ID added, across segments, and rarely for others', () => {
    const known = new KnownBlobs();
    const added = ids(300_000); // past the first segment (65,536 IDs) and the second
    for (const id of added) known.add(id);
    expect(known.handle.length).toBe(3);
    expect(added.every((id) => known.mayHave(id))).toBe(true);
    const others = ids(100_000);
    const falsePositives = others.filter((id) => known.mayHave(id)).length;
    // About 1 in 1,700 per full segment; three segments, the last one part full.
    expect(falsePositives).toBeLessThan(300);
  });

  it('is shared, not copied: a view sees IDs added later to the segments it was given', () => {
    const known = new KnownBlobs();
    const view = new KnownBlobsView(known.handle);
    const [a, b] = ids(2);
    expect(view.mayHave(a!)).toBe(false);
    known.add(a!);
    expect(view.mayHave(a!)).toBe(true);
    expect(view.mayHave(b!)).toBe(false);
  });

  it('sizes its first segment for the IDs it is told to expect', () => {
    const known = new KnownBlobs(200_000);
    for (const id of ids(200_000)) known.add(id);
    expect(known.handle.length).toBe(1);
    expect(known.bytes).toBe((262_144 * 16) / 8);
  });

  it('never claims an ID that is not 32 bytes', () => {
    const known = new KnownBlobs();
    known.add(new Uint8Array(31));
    expect(known.mayHave(new Uint8Array(31))).toBe(false);
    expect(new KnownBlobsView(known.handle).mayHave(new Uint8Array(0))).toBe(false);
  });
});
